// What the router does at each milestone of a call's lifecycle (src/routing/lifecycle.ts):
//   decided   remember the decision for the call's CDR; a caller who hung up while
//             held for a busy agent → the abandon pipeline; count the lookup
//   record    the one decision line (pino) and its metrics; the remembered decision
//             drops the Call (its reason is final now)
//   abandoned the caller hung up while the sticky agent rang → the abandon pipeline
//   talk      an answered sticky call ended → teach the memory layer at once (the CDR
//             confirms it moments later)
import { DateTime } from 'luxon';
import type { AbandonEvent } from '../abandon/sink.js';
import { abandonFromWait } from '../abandon/from-wait.js';
import type { Logger } from '../log.js';
import type { Call } from './call.js';
import type { DidPolicies } from './did-policy.js';
import type { LifecycleHooks } from './lifecycle.js';
import type { Reason } from './reasons.js';
import type { RingOutcome } from './call.js';

export interface CallHookDeps {
  log: Logger;
  metrics: {
    decision(reason: Reason): void;
    ring(outcome: RingOutcome, seconds: number): void;
    lookup(source: string, seconds: number): void;
  };
  /** Decisions for the CDRs: remembered when decided, trimmed to what a CDR needs once recorded. */
  recent: { remember(call: Call): void; settled(call: Call): void };
  publishAbandon(e: AbandonEvent): void;
  memory: { remember(e164: string, agent: string, endedAt: DateTime, talkSeconds: number, via?: 'talk' | 'attempt', pbx?: string): void };
  policies: DidPolicies;
  /** This PBX's name (PBX_NAME or SystemName), when it has one: on the decision line and on what is learned. */
  pbxName?: () => string | undefined;
}

const agentOf = (call: Call) => (call.decision && 'agent' in call.decision ? call.decision.agent : undefined);

/** The abandon the ring phase produces: the caller hung up at `at` while the sticky agent rang. */
export function ringAbandon(call: Call, at: number): AbandonEvent {
  return {
    source: 'sticky_ring',
    at: DateTime.fromMillis(at, { zone: 'utc' }).toISO()!,
    caller: call.caller,
    did: call.did,
    agent: agentOf(call),
    waitedMs: at - call.startedAt,
    uniqueid: call.channelId,
    linkedid: call.linkedid,
  };
}

export function callHooks(d: CallHookDeps): LifecycleHooks {
  return {
    onDecided(call) {
      d.recent.remember(call);
      const waitAbandon = abandonFromWait(call);
      if (waitAbandon) d.publishAbandon(waitAbandon);
      if (call.lookupMs !== undefined && call.caller.e164) d.metrics.lookup(call.lookupSource ?? (call.lookupError ? 'failed' : 'miss'), call.lookupMs / 1000);
      if (call.decision?.action === 'ring' && call.handedOffAt !== undefined && call.ringOutcome === undefined) {
        // The lifecycle writes the decision line when the ring ends.
        d.log.debug({ channel: call.channelId, caller: call.caller, agent: call.decision.agent }, 'handed off');
      }
    },
    onRecord(call) {
      if (call.reason) d.metrics.decision(call.reason);
      if (call.ringOutcome) d.metrics.ring(call.ringOutcome, (call.ringMs ?? 0) / 1000);
      const pbx = d.pbxName?.();
      d.log.info({ ...call.record(), ...(pbx ? { pbx } : {}) }, 'decision');
      d.recent.settled(call);
    },
    onAbandoned(call, at) {
      d.publishAbandon(ringAbandon(call, at));
    },
    // The router's own bridge teaches memory at once; the CDR confirms it moments later.
    onTalkEnded(call, talkMs, at) {
      const agent = agentOf(call);
      if (!agent || !call.caller.e164 || talkMs < d.policies.for(call.did).minTalkSeconds * 1000) return;
      // Another PBX's agent keeps that PBX's name; one of ours gets this PBX's.
      const pbx = call.decision && 'pbx' in call.decision ? call.decision.pbx : d.pbxName?.();
      d.memory.remember(call.caller.e164, agent, DateTime.fromMillis(at, { zone: 'utc' }), Math.round(talkMs / 1000), 'talk', pbx);
    },
  };
}
