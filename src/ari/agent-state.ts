// Agents' state, kept current from ARI events so that deciding costs no request on
// the call path. Seeded from GET /endpoints/PJSIP on every (re)connect, then fed by
// DeviceStateChanged of `deviceState:PJSIP/<agent>` subscriptions: one small event
// per state change. (Subscribing to `endpoint:PJSIP` instead makes Asterisk send the
// app every event of every channel on every PJSIP endpoint, ~170 per call, on the
// event loop that routes calls.) The endpoint list is re-read every minute so agents
// added by a pjsip reload are followed too.
import type { Logger } from '../log.js';
import type { AgentState } from '../routing/decide.js';
import { agentStateOfDevice, agentStateOfEndpoint } from './endpoint-state.js';

/** The ARI events the cache reads. */
export const agentStateEvents = ['DeviceStateChanged'] as const;

/** The part of ari-client's Client this cache uses (test/support/fake-ari.ts implements it too). */
export interface AgentStateClient {
  on(event: 'DeviceStateChanged', l: (event: { device_state?: { name?: string; state?: string } }) => void): unknown;
  endpoints: { listByTech(o: { tech: string }): Promise<{ resource: string; state?: string; channel_ids?: unknown }[]> };
  applications: { subscribe(o: { applicationName: string; eventSource: string }): Promise<unknown> };
}

interface Known {
  state: AgentState;
  /** Event sequence number of the last update: a slow seed must not overwrite a newer event. */
  seq: number;
}

export class AgentStates {
  private known = new Map<string, Known>();
  private subscribed = new Set<string>();
  private seq = 0;
  private refresher: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(agent: string) => void>();

  constructor(private readonly technology = 'PJSIP', private readonly refreshMs = 60_000) {}

  /** Call on every new client: the cache is rebuilt from Asterisk's current view. */
  async attach(client: AgentStateClient, app: string, log: Logger): Promise<void> {
    clearInterval(this.refresher);
    this.subscribed.clear();
    const prefix = `${this.technology}/`;
    client.on('DeviceStateChanged', (event: { device_state?: { name?: string; state?: string } }) => {
      const name = event.device_state?.name;
      if (typeof name !== 'string' || !name.startsWith(prefix) || typeof event.device_state?.state !== 'string') return;
      this.set(name.slice(prefix.length), { state: agentStateOfDevice(event.device_state.state), seq: ++this.seq });
    });
    const refresh = async () => {
      try {
        const seededAt = ++this.seq;
        const list = await client.endpoints.listByTech({ tech: this.technology });
        for (const ep of list) {
          // Endpoints that changed while the list was in flight keep their event's state.
          if ((this.known.get(ep.resource)?.seq ?? 0) < seededAt) this.set(ep.resource, { state: agentStateOfEndpoint(ep), seq: seededAt });
          if (this.subscribed.has(ep.resource)) continue;
          await client.applications.subscribe({ applicationName: app, eventSource: `deviceState:${prefix}${ep.resource}` });
          this.subscribed.add(ep.resource);
        }
        return list.length;
      } catch (err) {
        log.error({ err: (err as Error).message }, 'could not load agent states; unknown agents are rung and Dial() reports failures');
        return undefined;
      }
    };
    const n = await refresh();
    if (n !== undefined) log.info({ endpoints: n }, 'agent states loaded');
    this.refresher = setInterval(() => void refresh(), this.refreshMs);
    this.refresher.unref();
  }

  detach(): void {
    clearInterval(this.refresher);
  }

  get(agent: string): AgentState {
    return this.known.get(agent)?.state ?? 'unknown';
  }

  /** Every endpoint's state (the agent-state publisher, src/pbx). */
  entries(): [string, AgentState][] {
    return [...this.known].map(([agent, k]) => [agent, k.state]);
  }

  /** Told the agent whose state changed. */
  onChange(listener: (agent: string) => void): void {
    this.listeners.add(listener);
  }

  private set(agent: string, k: Known): void {
    const before = this.known.get(agent)?.state;
    this.known.set(agent, k);
    if (before !== k.state) for (const l of this.listeners) l(agent);
  }
}
