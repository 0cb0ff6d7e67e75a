// "What would the router do for this caller now?" without a call: the same
// normalisation, lookup, agent state and decision as a real call. Used by
// `sticky-router lookup` and `GET /v1/lookup/<number>`.
import type { DateTime } from 'luxon';
import type { CountryCode } from 'libphonenumber-js';
import { normalizeNumber } from '../numbers.js';
import { decideRoute, type AgentState } from './decide.js';
import type { DidPolicies } from './did-policy.js';
import type { LastAgentSource } from './lookup.js';
import { lookupWithinBudget } from './router.js';

export interface ExplainDeps {
  lookup: LastAgentSource;
  agentState(agent: string): AgentState | Promise<AgentState>;
  policies: DidPolicies;
  region: CountryCode | undefined;
  lookupTimeoutMs: number;
  clock: () => DateTime;
}

export interface RouteExplanation {
  caller: { raw: string; e164?: string };
  did?: string;
  action: string;
  reason: string;
  agent?: string;
  agentState?: AgentState;
  lastTalkedAt?: string;
  talkSeconds?: number;
  source?: string;
  lookupMs: number;
  error?: string;
  fallback: { context: string; extension: string };
}

export async function explainRoute(number: string, deps: ExplainDeps, did?: string): Promise<RouteExplanation> {
  const caller = normalizeNumber(number, deps.region);
  const policy = deps.policies.for(did);
  const now = deps.clock();
  const { outcome, ms } = await lookupWithinBudget(deps.lookup, caller.e164, now.minus({ milliseconds: policy.windowMs }), deps.lookupTimeoutMs);
  const hit = outcome.kind === 'hit' ? outcome.hit : undefined;
  const agentState = hit ? await deps.agentState(hit.agent) : undefined;
  const d = decideRoute({ caller, policy, lookup: outcome, agentState: agentState ?? 'unknown', now: deps.clock() });
  return {
    caller,
    did,
    action: d.action,
    reason: d.reason,
    agent: 'agent' in d ? d.agent : hit?.agent,
    agentState,
    lastTalkedAt: hit?.endedAt.toUTC().toISO() ?? undefined,
    talkSeconds: hit?.talkSeconds,
    source: hit?.source,
    lookupMs: Math.round(ms * 100) / 100,
    error: outcome.kind === 'failed' ? outcome.error : undefined,
    fallback: d.fallback,
  };
}
