// Agents on other PBXs, for the routing decision (routing/resolve.ts RemoteAgents):
// their state from the shared index, read with a realtime GET by id (no refresh
// wait, one document) within what is left of the call's lookup budget, and the
// dial string from PBX_ROUTES. Whatever goes wrong, the call still gets a
// decision: no route → that agent is skipped (offline); the state unread in
// time, missing or expired → unknown, which rings through the trunk and lets
// Dial() (ring timeout, then the local fallback) report what the phone does.
import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../log.js';
import { remainingMs } from '../routing/budget.js';
import type { Candidate } from '../routing/decide.js';
import type { DidPolicy } from '../routing/did-policy.js';
import type { LastAgentHit } from '../routing/lookup.js';
import type { RemoteAgents } from '../routing/resolve.js';
import { agentStateId, agentStatesIndex, stateFromDoc, type AgentStateDoc } from './agent-state-doc.js';
import { dialFor, type PbxRoutes } from './routes.js';

export interface RemoteAgentsOptions {
  /** This router's PBX; undefined = one PBX, every agent is local. */
  pbx: () => string | undefined;
  routes: PbxRoutes;
  /** Undefined in journal-only mode: no shared state, remote agents are rung as unknown. */
  client: Client | undefined;
  prefix: string;
  /** LOOKUP_TIMEOUT: the budget when the caller passes no signal (a busy agent's re-check). */
  timeoutMs: number;
  log: Logger;
  now?: () => number;
  /** Told how each remote agent's state was (or was not) read: its note, undefined = read (metrics). */
  onRead?: (note: string | undefined) => void;
}

export class RemotePbxAgents implements RemoteAgents {
  private readonly warned = new Set<string>();

  constructor(private readonly o: RemoteAgentsOptions) {}

  isRemote(pbx: string | undefined): boolean {
    const own = this.o.pbx();
    return pbx !== undefined && own !== undefined && pbx !== own;
  }

  async candidate(hit: LastAgentHit, policy: DidPolicy, signal?: AbortSignal): Promise<Candidate> {
    const c = await this.consider(hit, policy, signal);
    this.o.onRead?.(c.note);
    return c;
  }

  private async consider(hit: LastAgentHit, policy: DidPolicy, signal?: AbortSignal): Promise<Candidate> {
    const pbx = hit.pbx!;
    const dial = dialFor(this.o.routes, pbx, hit.agent);
    if (!dial) {
      if (!this.warned.has(pbx)) this.o.log.warn({ pbx, agent: hit.agent }, 'an agent works on a PBX that PBX_ROUTES has no route to: skipped');
      this.warned.add(pbx);
      return { hit, state: 'offline', note: 'no_route_to_pbx' };
    }
    if (!this.o.client) return { hit, state: 'unknown', dial, note: 'no_shared_state' };
    const budget = signal ? (remainingMs(signal) ?? this.o.timeoutMs) : this.o.timeoutMs;
    if (budget <= 0) return { hit, state: 'unknown', dial, note: 'state_not_read_in_budget' };
    let timer: NodeJS.Timeout | undefined;
    try {
      const read = this.o.client.get<AgentStateDoc>(
        { index: agentStatesIndex(this.o.prefix), id: agentStateId(pbx, hit.agent) },
        { requestTimeout: Math.max(1, budget), maxRetries: 0, ignore: [404], ...(signal ? { signal } : {}) },
      );
      // The budget holds even if the client overruns it.
      const res = await Promise.race([read, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`agent state read exceeded ${budget} ms`)), budget)))]);
      const s = stateFromDoc(res.found ? res._source : undefined, policy, (this.o.now ?? Date.now)());
      return { hit, state: s.state, dial, ...(s.note ? { note: s.note } : {}) };
    } catch (err) {
      this.o.log.debug({ pbx, agent: hit.agent, err: (err as Error).message }, 'remote agent state not read');
      return { hit, state: 'unknown', dial, note: 'state_not_read_in_budget' };
    } finally {
      clearTimeout(timer);
    }
  }
}
