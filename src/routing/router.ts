// The imperative shell around decideRoute: for one call, resolve the route (the
// steps `lookup` takes too: resolve.ts), hold the caller for a busy agent if the
// DID says so, and hand the call to the dialplan. Each dependency is a port, so this runs the same
// against ARI in production and against fakes in unit tests.
import { normalizeNumber } from '../numbers.js';
import { Call } from './call.js';
import type { CallLifecycle } from './lifecycle.js';
import type { Decision } from './decide.js';
import type { DidPolicy } from './did-policy.js';
import { candidateFor, lookupWithinBudget, resolveRoute, type ResolveDeps } from './resolve.js';

export interface RouterDeps extends ResolveDeps {
  /** Leaves Stasis into the dialplan carrying the decision. */
  handOff(call: Call, decision: Decision): Promise<void>;
  /** For wait_for_agent: make the caller hear ringback while the router waits. */
  indicateRinging?(call: Call): Promise<void>;
}

export { lookupWithinBudget };

export function newCall(channelId: string, did: string | undefined, callerRaw: string | undefined, deps: Pick<RouterDeps, 'region' | 'clock'>): Call {
  const now = deps.clock();
  return new Call(channelId, did, normalizeNumber(callerRaw, deps.region), Date.now(), now);
}

/**
 * Decides for one call and hands it off, reporting both to the call's lifecycle.
 * Throws only when the hand-off fails (the caller then falls back: src/ari/stasis-app.ts).
 */
export async function routeCall(life: CallLifecycle, deps: RouterDeps): Promise<Decision> {
  const { call } = life;
  const r = await resolveRoute(call.caller, call.did, call.startedAtTime, deps);
  call.lookupMs = r.lookupMs;
  call.previousAbandon = r.previousAbandon;
  call.candidates = r.candidates;
  const { outcome } = r;
  if (outcome.kind === 'hit') {
    call.lookupSource = outcome.hit.source;
    call.lastTalkedAt = outcome.hit.endedAt;
  } else if (outcome.kind === 'failed') call.lookupError = outcome.error;
  let decision = r.decision;
  if (decision.action === 'wait_for_agent') decision = await waitForAgent(life, decision, r.policy, deps);
  life.decide(decision);
  if (life.callerGone) return decision; // the caller hung up during the lookup or the wait
  life.handingOff();
  await deps.handOff(call, decision);
  life.handedOff();
  return decision;
}

/**
 * Holds the caller (ringback) until the busy agent frees up, goes offline, or the
 * wait ends. A caller who hangs up meanwhile abandoned the call (caller_abandoned).
 */
export async function waitForAgent(
  life: CallLifecycle,
  d: Extract<Decision, { action: 'wait_for_agent' }>,
  policy: DidPolicy,
  deps: Pick<RouterDeps, 'agentState' | 'queueMember' | 'indicateRinging'>,
  pollMs = 250,
): Promise<Exclude<Decision, { action: 'wait_for_agent' }>> {
  const { call } = life;
  await deps.indicateRinging?.(call).catch(() => undefined);
  call.waitStartedAt = Date.now();
  const deadline = call.waitStartedAt + d.waitMs;
  const hit = call.candidates?.[(d.rank ?? 1) - 1]?.hit;
  while (Date.now() < deadline && !life.callerGone) {
    const c = hit ? await candidateFor(hit, policy, deps) : { state: await deps.agentState(d.agent), dial: d.dial };
    if (c.state === 'online' || c.state === 'unknown') {
      const dial = c.dial ?? d.dial;
      return { action: 'ring', reason: 'sticky_agent', agent: d.agent, rank: d.rank, learnedFrom: d.learnedFrom, ringTimeoutMs: d.ringTimeoutMs, fallback: d.fallback, ...(dial ? { dial } : {}) };
    }
    if (c.state !== 'busy') return { action: 'fallback', reason: c.state === 'paused' ? 'agent_paused' : c.state === 'logged_out' ? 'agent_logged_out' : 'agent_offline', agent: d.agent, fallback: d.fallback };
    await new Promise((r) => setTimeout(r, pollMs));
  }
  if (life.callerGone) {
    call.waitEndedAt = Date.now();
    return { action: 'fallback', reason: 'caller_abandoned', agent: d.agent, fallback: d.fallback };
  }
  return { action: 'fallback', reason: 'agent_busy', agent: d.agent, fallback: d.fallback };
}
