// The routing decision: a pure function of what is known when the call arrives.
// No I/O and no clock of its own, so it is tested with tables of cases.
import type { DateTime } from 'luxon';
import type { CallerNumber } from '../numbers.js';
import type { DidPolicy } from './did-policy.js';
import type { LastAgentHit } from './lookup.js';
import type { Reason } from './reasons.js';

export type AgentState = 'online' | 'offline' | 'busy' | 'unknown';

export type LookupOutcome =
  | { kind: 'skipped' } // no number to look up
  | { kind: 'hit'; hit: LastAgentHit }
  | { kind: 'miss' }
  | { kind: 'failed'; error: string };

export interface DecisionInput {
  caller: CallerNumber;
  policy: DidPolicy;
  lookup: LookupOutcome;
  /** State of the hit's agent; ignored without a hit. */
  agentState: AgentState;
  now: DateTime;
}

export type Decision =
  | { action: 'ring'; reason: 'sticky_agent'; agent: string; ringTimeoutMs: number; fallback: DidPolicy['fallback'] }
  | { action: 'wait_for_agent'; reason: 'agent_busy'; agent: string; waitMs: number; ringTimeoutMs: number; fallback: DidPolicy['fallback'] }
  | { action: 'fallback'; reason: Exclude<Reason, 'sticky_agent'>; agent?: string; fallback: DidPolicy['fallback'] };

export function decideRoute({ caller, policy, lookup, agentState, now }: DecisionInput): Decision {
  const fallback = (reason: Exclude<Reason, 'sticky_agent'>, agent?: string): Decision => ({ action: 'fallback', reason, agent, fallback: policy.fallback });
  if (!policy.enabled) return fallback('disabled');
  if (!caller.e164 || lookup.kind === 'skipped') return fallback('invalid_caller');
  if (lookup.kind === 'failed') return fallback('lookup_failed');
  if (lookup.kind === 'miss') return fallback('no_history');
  const { hit } = lookup;
  // The source was asked for the window, but a source's clock or cache may be off:
  // the window is enforced here, against the call's own clock.
  if (now.diff(hit.endedAt).toMillis() > policy.windowMs) return fallback('no_history');
  switch (agentState) {
    case 'offline':
      return fallback('agent_offline', hit.agent);
    case 'busy':
      if (policy.waitForBusyAgentMs > 0) {
        return { action: 'wait_for_agent', reason: 'agent_busy', agent: hit.agent, waitMs: policy.waitForBusyAgentMs, ringTimeoutMs: policy.ringTimeoutMs, fallback: policy.fallback };
      }
      return fallback('agent_busy', hit.agent);
    default:
      // 'unknown' rings: Dial() itself reports an unreachable phone, and the caller
      // reaches the fallback through the dialplan either way.
      return { action: 'ring', reason: 'sticky_agent', agent: hit.agent, ringTimeoutMs: policy.ringTimeoutMs, fallback: policy.fallback };
  }
}
