// The lookup port: "who last talked to this customer, since when?". Sources
// (memory, Elasticsearch, the local journal) implement it; the router layers them.
import type { DateTime } from 'luxon';

export interface LastAgentHit {
  agent: string;
  /** When that conversation ended. */
  endedAt: DateTime;
  talkSeconds: number;
  /** Which source answered: memory | elasticsearch | journal | abandon. */
  source: string;
  /** A conversation (default) or an agent's unanswered outbound attempt (learnFromAttempts). */
  via?: 'talk' | 'attempt';
  /** The PBX the agent works on (CDR `agent_pbx`); absent in records from before PBX names. */
  pbx?: string;
}

export interface AgentQuery {
  /** Most distinct agents wanted (per-DID maxAgents). */
  limit: number;
  /** Count agents' unanswered outbound attempts too (per-DID learnFromAttempts). */
  attempts: boolean;
}

export interface LastAgentSource {
  readonly name: string;
  /**
   * The agent of the most recent conversation with `e164` that ended at or after
   * `since`, or undefined. Must honour `signal` (the call's lookup budget).
   */
  lastAgentFor(e164: string, since: DateTime, signal: AbortSignal): Promise<LastAgentHit | undefined>;
  /**
   * Up to `query.limit` distinct agents of the most recent conversations (and, with
   * `query.attempts`, unanswered outbound attempts) since `since`, newest first.
   * Sources without it answer with lastAgentFor's one agent (see agentsFrom).
   */
  lastAgentsFor?(e164: string, since: DateTime, signal: AbortSignal, query: AgentQuery): Promise<LastAgentHit[]>;
}

export async function agentsFrom(source: LastAgentSource, e164: string, since: DateTime, signal: AbortSignal, query: AgentQuery): Promise<LastAgentHit[]> {
  if (source.lastAgentsFor) return source.lastAgentsFor(e164, since, signal, query);
  const hit = await source.lastAgentFor(e164, since, signal);
  return hit ? [hit] : [];
}

/**
 * Newest first, one entry per agent (its newest), at most `limit`. An agent is an
 * extension on a PBX: 1002 on pbx-a and 1002 on pbx-b are two people.
 */
export function distinctAgents(hits: Iterable<LastAgentHit>, limit: number): LastAgentHit[] {
  const best = new Map<string, LastAgentHit>();
  for (const h of hits) {
    const key = `${h.pbx ?? ''}\u0000${h.agent}`;
    const cur = best.get(key);
    if (!cur || h.endedAt.toMillis() > cur.endedAt.toMillis()) best.set(key, h);
  }
  return [...best.values()].sort((a, b) => b.endedAt.toMillis() - a.endedAt.toMillis()).slice(0, limit);
}
