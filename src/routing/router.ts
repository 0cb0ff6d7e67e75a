// The imperative shell around decideRoute: for one call, normalise the caller,
// look up the last agent within the budget, read the agent's state, decide, and
// hand the call to the dialplan. Each dependency is a port, so this runs the same
// against ARI in production and against fakes in unit tests.
import { DateTime } from 'luxon';
import type { CountryCode } from 'libphonenumber-js';
import { normalizeNumber } from '../numbers.js';
import { Call } from './call.js';
import { decideRoute, type AgentState, type Decision, type LookupOutcome } from './decide.js';
import type { DidPolicies } from './did-policy.js';
import type { LastAgentSource } from './lookup.js';
import { budgetSignal } from './budget.js';

export interface RouterDeps {
  lookup: LastAgentSource;
  agentState(agent: string): AgentState;
  policies: DidPolicies;
  region: CountryCode | undefined;
  lookupTimeoutMs: number;
  clock: () => DateTime;
  /** Leaves Stasis into the dialplan carrying the decision. */
  handOff(call: Call, decision: Decision): Promise<void>;
  /** For wait_for_agent: make the caller hear ringback while the router waits. */
  indicateRinging?(call: Call): Promise<void>;
  /** The caller's latest abandon within the window, if any (from the abandon pipeline). */
  recentAbandon?(e164: string, since: DateTime): { at: string; agent?: string; count: number } | undefined;
}

export async function lookupWithinBudget(lookup: LastAgentSource, e164: string | undefined, since: DateTime, budgetMs: number): Promise<{ outcome: LookupOutcome; ms: number }> {
  const t0 = performance.now();
  if (!e164) return { outcome: { kind: 'skipped' }, ms: 0 };
  // budgetSignal carries its deadline, so the layers can split what is left of it.
  const signal = budgetSignal(budgetMs);
  let timer: NodeJS.Timeout | undefined;
  try {
    // The budget holds even if a source ignores the signal.
    const hit = await Promise.race([
      lookup.lastAgentFor(e164, since, signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`lookup exceeded ${budgetMs} ms`)), budgetMs);
      }),
    ]);
    return { outcome: hit ? { kind: 'hit', hit } : { kind: 'miss' }, ms: performance.now() - t0 };
  } catch (err) {
    return { outcome: { kind: 'failed', error: (err as Error).message }, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

export function newCall(channelId: string, did: string | undefined, callerRaw: string | undefined, deps: Pick<RouterDeps, 'region' | 'clock'>): Call {
  const now = deps.clock();
  return new Call(channelId, did, normalizeNumber(callerRaw, deps.region), Date.now(), now);
}

/** Decides for one call and hands it off. Never throws: a failure becomes a fallback. */
export async function routeCall(call: Call, deps: RouterDeps): Promise<Decision> {
  const policy = deps.policies.for(call.did);
  const since = call.startedAtTime.minus({ milliseconds: policy.windowMs });
  const { outcome: found, ms } = policy.enabled ? await lookupWithinBudget(deps.lookup, call.caller.e164, since, deps.lookupTimeoutMs) : { outcome: { kind: 'skipped' } as LookupOutcome, ms: 0 };
  call.lookupMs = Math.round(ms * 100) / 100;
  let outcome = found;
  const abandon = call.caller.e164 && policy.enabled ? deps.recentAbandon?.(call.caller.e164, since) : undefined;
  if (abandon) {
    call.previousAbandon = abandon;
    // A caller who gave up while waiting for their agent gets that agent first,
    // even before a CDR of a finished conversation names them.
    if (outcome.kind === 'miss' && abandon.agent) {
      outcome = { kind: 'hit', hit: { agent: abandon.agent, endedAt: DateTime.fromISO(abandon.at, { zone: 'utc' }), talkSeconds: 0, source: 'abandon' } };
    }
  }
  if (outcome.kind === 'hit') {
    call.lookupSource = outcome.hit.source;
    call.lastTalkedAt = outcome.hit.endedAt;
  } else if (outcome.kind === 'failed') call.lookupError = outcome.error;
  const agentState = outcome.kind === 'hit' ? deps.agentState(outcome.hit.agent) : 'unknown';
  let decision = decideRoute({ caller: call.caller, policy, lookup: outcome, agentState, now: deps.clock() });
  if (decision.action === 'wait_for_agent') decision = await waitForAgent(call, decision, deps);
  call.decision = decision;
  call.reason = decision.reason;
  if (call.leftStasis) return decision; // the caller hung up during the lookup
  await deps.handOff(call, decision);
  call.handedOffAt = Date.now();
  return decision;
}

async function waitForAgent(call: Call, d: Extract<Decision, { action: 'wait_for_agent' }>, deps: RouterDeps): Promise<Decision> {
  await deps.indicateRinging?.(call).catch(() => undefined);
  const deadline = Date.now() + d.waitMs;
  while (Date.now() < deadline && !call.leftStasis) {
    const s = deps.agentState(d.agent);
    if (s === 'online' || s === 'unknown') return { action: 'ring', reason: 'sticky_agent', agent: d.agent, ringTimeoutMs: d.ringTimeoutMs, fallback: d.fallback };
    if (s === 'offline') return { action: 'fallback', reason: 'agent_offline', agent: d.agent, fallback: d.fallback };
    await new Promise((r) => setTimeout(r, 250));
  }
  return { action: 'fallback', reason: 'agent_busy', agent: d.agent, fallback: d.fallback };
}
