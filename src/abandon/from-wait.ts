// A caller held for their busy sticky agent (per-DID waitForBusyAgent) who hangs up
// before the agent frees up: an abandon like one in a queue, from the router's own
// view of the call (no queue saw it, so the pipeline also writes its queue_log lines).
import { DateTime } from 'luxon';
import type { Call } from '../routing/call.js';
import type { AbandonEvent } from './sink.js';

/** The abandon of a call whose decision is caller_abandoned after a wait, else undefined. */
export function abandonFromWait(call: Call): AbandonEvent | undefined {
  if (call.reason !== 'caller_abandoned' || call.waitStartedAt === undefined || call.ringOutcome !== undefined) return undefined;
  const at = call.waitEndedAt ?? Date.now();
  return {
    source: 'sticky_wait',
    at: DateTime.fromMillis(at, { zone: 'utc' }).toISO()!,
    caller: call.caller,
    ...(call.did ? { did: call.did } : {}),
    ...(call.decision && 'agent' in call.decision && call.decision.agent ? { agent: call.decision.agent } : {}),
    waitedMs: at - call.startedAt,
    uniqueid: call.channelId,
    ...(call.linkedid ? { linkedid: call.linkedid } : {}),
  };
}
