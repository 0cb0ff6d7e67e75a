// The steps every routing question takes, live call or not: the DID's policy, the
// ranked lookup within the budget, a recent abandon, each candidate's state (queue
// membership and pause from AMI where the DID names a queue, the phone's state
// otherwise), then the pure decision. A live call (router.ts) and `lookup` /
// `/v1/lookup` (explain.ts) both call resolveRoute, so what they say is what a call gets.
import type { DateTime } from 'luxon';
import { DateTime as LuxonDateTime } from 'luxon';
import type { CountryCode } from 'libphonenumber-js';
import type { CallerNumber } from '../numbers.js';
import type { MemberLookup } from '../queue/members.js';
import { budgetSignal } from './budget.js';
import { decideRoute, type AgentState, type Candidate, type Decision, type LookupOutcome } from './decide.js';
import type { DidPolicies, DidPolicy } from './did-policy.js';
import { agentsFrom, distinctAgents, type AgentQuery, type LastAgentHit, type LastAgentSource } from './lookup.js';
import { withTimeout } from '../timeout.js';

export interface RecentAbandon {
  at: string;
  agent?: string;
  count: number;
}

export interface ResolveDeps {
  lookup: LastAgentSource;
  /** The agent's phone state (ARI). */
  agentState(agent: string): AgentState | Promise<AgentState>;
  /** The agent as a member of `queue` (AMI); undefined when the queue state is not known. */
  queueMember?(queue: string, agent: string): MemberLookup | undefined | Promise<MemberLookup | undefined>;
  policies: DidPolicies;
  region: CountryCode | undefined;
  lookupTimeoutMs: number;
  clock: () => DateTime;
  /** The caller's latest abandon within the window, if any (from the abandon pipeline). */
  recentAbandon?(e164: string, since: DateTime): RecentAbandon | undefined | Promise<RecentAbandon | undefined>;
  /** Agents on other PBXs (src/pbx): their state from the shared index, their dial string from PBX_ROUTES. */
  remote?: RemoteAgents;
}

/** The port to other PBXs' agents (src/pbx/remote-agents.ts). */
export interface RemoteAgents {
  /** True when `pbx` names another PBX than this router's. */
  isRemote(pbx: string | undefined): boolean;
  /** Where and in what state the other PBX's agent is; must answer by the time `signal` aborts. */
  candidate(hit: LastAgentHit, policy: DidPolicy, signal?: AbortSignal): Promise<Candidate>;
}

export interface Resolution {
  policy: DidPolicy;
  outcome: LookupOutcome;
  lookupMs: number;
  candidates: Candidate[];
  previousAbandon?: RecentAbandon;
  decision: Decision;
}

export async function lookupWithinBudget(
  lookup: LastAgentSource,
  e164: string | undefined,
  since: DateTime,
  budgetMs: number,
  query: AgentQuery = { limit: 1, attempts: false },
): Promise<{ outcome: LookupOutcome; ms: number }> {
  const t0 = performance.now();
  if (!e164) return { outcome: { kind: 'skipped' }, ms: 0 };
  // budgetSignal carries its deadline, so the layers can split what is left of it.
  const signal = budgetSignal(budgetMs);
  try {
    // The budget holds even if a source ignores the signal.
    const hits = await withTimeout(agentsFrom(lookup, e164, since, signal, query), budgetMs, `lookup exceeded ${budgetMs} ms`);
    const outcome: LookupOutcome = hits.length > 0 ? { kind: 'hit', hit: hits[0]!, ranked: hits } : { kind: 'miss' };
    return { outcome, ms: performance.now() - t0 };
  } catch (err) {
    return { outcome: { kind: 'failed', error: (err as Error).message }, ms: performance.now() - t0 };
  }
}

/**
 * Where the agent can be rung and in what state, for a DID with or without a queue.
 * `signal`: what is left of the call's lookup budget (another PBX's agent is asked for over the network).
 */
export async function candidateFor(hit: LastAgentHit, policy: DidPolicy, deps: Pick<ResolveDeps, 'agentState' | 'queueMember' | 'remote'>, signal?: AbortSignal): Promise<Candidate> {
  if (deps.remote?.isRemote(hit.pbx)) return deps.remote.candidate(hit, policy, signal);
  const member = policy.queue && deps.queueMember ? await deps.queueMember(policy.queue, hit.agent) : undefined;
  if (!member) return { hit, state: await deps.agentState(hit.agent) };
  // The member's interface is where they are now; PJSIP/<agent> is the default dial.
  const dial = member.dial && member.dial !== `PJSIP/${hit.agent}` ? member.dial : undefined;
  return { hit, state: member.state, ...(dial ? { dial } : {}) };
}

export async function resolveRoute(caller: CallerNumber, did: string | undefined, at: DateTime, deps: ResolveDeps): Promise<Resolution> {
  const policy = deps.policies.for(did);
  // One budget for the whole question: the history lookup, then another PBX's agent state.
  const budget = budgetSignal(deps.lookupTimeoutMs);
  const since = at.minus({ milliseconds: policy.windowMs });
  const query = { limit: policy.maxAgents, attempts: policy.learnFromAttempts };
  const { outcome: found, ms } = policy.enabled ? await lookupWithinBudget(deps.lookup, caller.e164, since, deps.lookupTimeoutMs, query) : { outcome: { kind: 'skipped' } as LookupOutcome, ms: 0 };
  let outcome = found;
  const abandon = caller.e164 && policy.enabled ? await deps.recentAbandon?.(caller.e164, since) : undefined;
  // A caller who gave up while waiting for their agent gets that agent first,
  // even before a CDR of a finished conversation names them.
  if (abandon?.agent && outcome.kind === 'miss') {
    const hit: LastAgentHit = { agent: abandon.agent, endedAt: LuxonDateTime.fromISO(abandon.at, { zone: 'utc' }), talkSeconds: 0, source: 'abandon' };
    outcome = { kind: 'hit', hit, ranked: [hit] };
  }
  const ranked = outcome.kind === 'hit' ? ownPbxAsLocal(outcome.ranked ?? [outcome.hit], deps.remote).slice(0, policy.maxAgents) : [];
  const candidates = await Promise.all(ranked.map((h) => candidateFor(h, policy, deps, budget)));
  const decision = decideRoute({ caller, policy, lookup: outcome, candidates, now: deps.clock() });
  return { policy, outcome, lookupMs: Math.round(ms * 100) / 100, candidates, ...(abandon ? { previousAbandon: abandon } : {}), decision };
}

/**
 * Records name this PBX's agents with its name, or (from before PBX names) with
 * none: both are the same local person, ranked once.
 */
function ownPbxAsLocal(hits: LastAgentHit[], remote: RemoteAgents | undefined): LastAgentHit[] {
  if (!hits.some((h) => h.pbx !== undefined && !remote?.isRemote(h.pbx))) return hits;
  const local = hits.map((h) => {
    if (h.pbx === undefined || remote?.isRemote(h.pbx)) return h;
    const { pbx: _own, ...rest } = h;
    return rest;
  });
  return distinctAgents(local, local.length);
}
