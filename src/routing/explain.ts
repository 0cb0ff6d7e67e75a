// "What would the router do for this caller now?" without a call: exactly the
// steps a live call takes (resolveRoute: lookup, recent abandon, queue and phone
// state, decision). Used by `sticky-router lookup` and `GET /v1/lookup/<number>`.
import { normalizeNumber } from '../numbers.js';
import type { AgentState } from './decide.js';
import { resolveRoute, type ResolveDeps } from './resolve.js';

export type ExplainDeps = ResolveDeps;

export interface RouteExplanation {
  caller: { raw: string; e164?: string };
  did?: string;
  action: string;
  reason: string;
  agent?: string;
  /** Which of the ranked agents the decision took (1 = the most recent). */
  rank?: number;
  learnedFrom?: 'talk' | 'attempt';
  /** Where the agent would be rung, when not PJSIP/<agent> (their queue member interface). */
  dial?: string;
  agentState?: AgentState;
  lastTalkedAt?: string;
  talkSeconds?: number;
  source?: string;
  /** Every agent considered, newest first, with their state now. */
  candidates?: { agent: string; state: AgentState; endedAt?: string; source: string; via: 'talk' | 'attempt'; pbx?: string; note?: string }[];
  /** The chosen agent's PBX, when the records name one. */
  agentPbx?: string;
  previousAbandon?: { at: string; agent?: string; count: number };
  lookupMs: number;
  error?: string;
  fallback: { context: string; extension: string };
}

export async function explainRoute(number: string, deps: ExplainDeps, did?: string): Promise<RouteExplanation> {
  const caller = normalizeNumber(number, deps.region);
  const r = await resolveRoute(caller, did, deps.clock(), deps);
  const d = r.decision;
  const chosen = 'rank' in d ? r.candidates[(d.rank ?? 1) - 1] : r.candidates[0];
  const hit = chosen?.hit ?? (r.outcome.kind === 'hit' ? r.outcome.hit : undefined);
  return {
    caller,
    did,
    action: d.action,
    reason: d.reason,
    agent: 'agent' in d && d.agent ? d.agent : hit?.agent,
    ...('rank' in d ? { rank: d.rank, learnedFrom: d.learnedFrom } : {}),
    ...('dial' in d && d.dial ? { dial: d.dial } : {}),
    agentState: chosen?.state,
    ...(chosen?.hit.pbx ? { agentPbx: chosen.hit.pbx } : {}),
    lastTalkedAt: hit?.endedAt.toUTC().toISO() ?? undefined,
    talkSeconds: hit?.talkSeconds,
    source: hit?.source,
    ...(r.candidates.length > 0
      ? { candidates: r.candidates.map((c) => ({ agent: c.hit.agent, state: c.state, endedAt: c.hit.endedAt.toUTC().toISO() ?? undefined, source: c.hit.source, via: c.hit.via ?? 'talk', ...(c.hit.pbx ? { pbx: c.hit.pbx } : {}), ...(c.note ? { note: c.note } : {}) })) }
      : {}),
    ...(r.previousAbandon ? { previousAbandon: r.previousAbandon } : {}),
    lookupMs: r.lookupMs,
    error: r.outcome.kind === 'failed' ? r.outcome.error : undefined,
    fallback: d.fallback,
  };
}
