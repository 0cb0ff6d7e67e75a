// Agents' endpoint state, kept current from ARI events so that deciding costs no
// request on the call path: seeded with one GET /endpoints on every (re)connect,
// then updated by EndpointStateChange (the app subscribes to endpoint:PJSIP).
import type { Client, Endpoint } from 'ari-client';
import type { Logger } from '../log.js';
import type { AgentState } from '../routing/decide.js';

interface Known {
  state: string;
  channels: number;
  /** Event sequence number of the last update: a slow seed must not overwrite a newer event. */
  seq: number;
}

export class AgentStates {
  private known = new Map<string, Known>();
  private seq = 0;

  constructor(private readonly technology = 'PJSIP') {}

  /** Call on every new client: the cache is rebuilt from Asterisk's current view. */
  async attach(client: Client, app: string, log: Logger): Promise<void> {
    client.on('EndpointStateChange', (event) => this.update(event.endpoint, ++this.seq));
    try {
      await client.applications.subscribe({ applicationName: app, eventSource: `endpoint:${this.technology}` });
      const seededAt = ++this.seq;
      const list = await client.endpoints.listByTech({ tech: this.technology });
      // Endpoints that changed while the list was in flight keep their event's state.
      for (const ep of list) if ((this.known.get(ep.resource)?.seq ?? 0) < seededAt) this.update(ep, seededAt);
      log.info({ endpoints: this.known.size }, 'agent states loaded');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not load agent states; agents count as unknown');
    }
  }

  update(ep: Pick<Endpoint, 'technology' | 'resource' | 'state' | 'channel_ids'> | undefined, seq = ++this.seq): void {
    if (!ep || ep.technology !== this.technology || typeof ep.resource !== 'string') return;
    this.known.set(ep.resource, { state: String(ep.state ?? 'unknown'), channels: Array.isArray(ep.channel_ids) ? ep.channel_ids.length : 0, seq });
  }

  get(agent: string): AgentState {
    const k = this.known.get(agent);
    if (!k) return 'unknown';
    if (k.state === 'offline') return 'offline';
    if (k.channels > 0) return 'busy';
    return k.state === 'online' ? 'online' : 'unknown';
  }
}
