// The routing decision: a pure function of what is known when the call arrives.
// No I/O and no clock of its own, so it is tested with tables of cases.
//
// Ranked agents: the lookup gives the caller's most recent distinct agents, newest
// first (per-DID `maxAgents`). The first one who can take the call is rung and the
// decision names their rank. When none can, the reason is the first (most recent)
// agent's; a busy one may be waited for (`waitForBusyAgent`).
import type { DateTime } from 'luxon';
import type { CallerNumber } from '../numbers.js';
import type { DidPolicy } from './did-policy.js';
import type { LastAgentHit } from './lookup.js';
import type { Reason } from './reasons.js';

export type AgentState = 'online' | 'offline' | 'busy' | 'paused' | 'logged_out' | 'unknown';

export type LookupOutcome =
  | { kind: 'skipped' } // no number to look up
  | { kind: 'hit'; hit: LastAgentHit; /** The hit first, then older distinct agents, newest first. */ ranked?: LastAgentHit[] }
  | { kind: 'miss' }
  | { kind: 'failed'; error: string };

/** One ranked agent and what is known about them now. */
export interface Candidate {
  hit: LastAgentHit;
  state: AgentState;
  /** Where to ring them (their queue member interface, or another PBX's trunk), when not PJSIP/<agent>. */
  dial?: string;
  /** Why the state is what it is, where that is not obvious (another PBX's agent: no_route_to_pbx, state_expired, …). */
  note?: string;
}

export interface DecisionInput {
  caller: CallerNumber;
  policy: DidPolicy;
  lookup: LookupOutcome;
  /** State of the hit's agent; ignored without a hit, and when `candidates` is given. */
  agentState?: AgentState;
  /** The ranked agents with their states, newest first (default: the hit with agentState). */
  candidates?: Candidate[];
  now: DateTime;
}

interface Picked {
  agent: string;
  /** 1 = the most recent agent, 2 = the one before, … (decideRoute always sets it). */
  rank?: number;
  /** The conversation (or unanswered outbound attempt) that made them sticky (decideRoute always sets it). */
  learnedFrom?: 'talk' | 'attempt';
  dial?: string;
  /** The agent's PBX, when the record named one (another PBX's agent is rung through `dial`). */
  pbx?: string;
}

type Fallback = DidPolicy['fallback'];
export type Decision =
  | ({ action: 'ring'; reason: 'sticky_agent'; ringTimeoutMs: number; fallback: Fallback } & Picked)
  | ({ action: 'wait_for_agent'; reason: 'agent_busy'; waitMs: number; ringTimeoutMs: number; fallback: Fallback } & Picked)
  | { action: 'fallback'; reason: Exclude<Reason, 'sticky_agent'>; agent?: string; fallback: Fallback };

const unavailable: Partial<Record<AgentState, Exclude<Reason, 'sticky_agent'>>> = {
  offline: 'agent_offline',
  busy: 'agent_busy',
  paused: 'agent_paused',
  logged_out: 'agent_logged_out',
};

export function decideRoute({ caller, policy, lookup, agentState, candidates, now }: DecisionInput): Decision {
  const fallback = (reason: Exclude<Reason, 'sticky_agent'>, agent?: string): Decision => ({ action: 'fallback', reason, agent, fallback: policy.fallback });
  if (!policy.enabled) return fallback('disabled');
  if (!caller.e164 || lookup.kind === 'skipped') return fallback('invalid_caller');
  if (lookup.kind === 'failed') return fallback('lookup_failed');
  if (lookup.kind === 'miss') return fallback('no_history');
  // The sources were asked for the window, but a source's clock or cache may be off:
  // the window is enforced here, against the call's own clock.
  const inWindow = (c: Candidate) => now.diff(c.hit.endedAt).toMillis() <= policy.windowMs;
  const ranked = (candidates ?? [{ hit: lookup.hit, state: agentState ?? 'unknown' }]).slice(0, Math.max(1, policy.maxAgents)).filter(inWindow);
  if (ranked.length === 0) return fallback('no_history');
  const picked = (c: Candidate, i: number): Picked => ({ agent: c.hit.agent, rank: i + 1, learnedFrom: c.hit.via ?? 'talk', ...(c.dial ? { dial: c.dial } : {}), ...(c.hit.pbx ? { pbx: c.hit.pbx } : {}) });

  // 'unknown' rings: Dial() itself reports an unreachable phone, and the caller
  // reaches the fallback through the dialplan either way.
  const ready = ranked.findIndex((c) => c.state === 'online' || c.state === 'unknown');
  if (ready >= 0) return { action: 'ring', reason: 'sticky_agent', ringTimeoutMs: policy.ringTimeoutMs, fallback: policy.fallback, ...picked(ranked[ready]!, ready) };
  const busy = ranked.findIndex((c) => c.state === 'busy');
  if (busy >= 0 && policy.waitForBusyAgentMs > 0) {
    return { action: 'wait_for_agent', reason: 'agent_busy', waitMs: policy.waitForBusyAgentMs, ringTimeoutMs: policy.ringTimeoutMs, fallback: policy.fallback, ...picked(ranked[busy]!, busy) };
  }
  const first = ranked[0]!;
  return fallback(unavailable[first.state] ?? 'agent_unavailable', first.hit.agent);
}
