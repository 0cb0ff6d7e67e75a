// What a notifier sends: one or more abandons by the same caller, folded into one
// message. `id` is the idempotency key: stable across retries and restarts.
import { formatWhen, callerLabel, type AbandonRecord } from './record.js';

export interface Notification {
  /** Idempotency key, e.g. `abandon-<group>-1`; the same on every attempt. */
  id: string;
  /** The first abandon's record id: all notifications about one burst of calls share it. */
  groupId: string;
  /** 1 for the first message about a caller, 2 for the follow-up that carries the count. */
  seq: number;
  /** How many times this caller abandoned since `first` (including it). */
  count: number;
  first: AbandonRecord;
  latest: AbandonRecord;
}

export function notificationId(groupId: string, seq: number): string {
  return `abandon-${groupId}-${seq}`;
}

/** Subject line / chat preview. */
export function notificationSubject(n: Notification): string {
  if (n.count <= 1) return n.latest.summary();
  return `${n.count} missed calls from ${callerLabel(n.latest.caller)} since ${n.first.at.toUTC().toFormat("HH:mm 'UTC'")}`;
}

/** The full message. A follow-up says how many calls were missed, then the latest call's facts. */
export function notificationText(n: Notification): string {
  if (n.count <= 1) return n.latest.toText();
  return [
    notificationSubject(n),
    `First missed call: ${formatWhen(n.first.at)}`,
    '',
    'Latest call:',
    ...n.latest.details(),
  ].join('\n');
}

/** The webhook body: the record plus what the receiver needs to deduplicate and display. */
export function notificationPayload(n: Notification): Record<string, unknown> {
  return {
    // `event` pairs with the later `abandon.resolved`; `type` is kept for existing receivers.
    event: 'abandon',
    type: 'abandon',
    idempotency_key: n.id,
    group_id: n.groupId,
    seq: n.seq,
    count: n.count,
    first_at: n.first['@timestamp'],
    text: notificationText(n),
    abandon: n.latest,
  };
}
