// What a channel is told when an abandoned caller has been reached: which alert
// (the notification group), by whom, when and how, and the messages that were
// delivered about it on this channel (with the receiver's reference, to edit them).
import { notificationSubject, notificationText, type Notification } from './notification.js';
import { callerLabel, type AbandonRecord, type Resolution } from './record.js';

export interface DeliveredMessage {
  notification: Notification;
  /** The receipt's ref (Slack {channel, ts}, Telegram {chat_id, message_id}); absent when the channel returns none. */
  ref?: string;
}

export interface ResolutionNotice {
  /** Idempotency key: `abandon-<group>-resolved`, the same on every attempt. */
  id: string;
  groupId: string;
  resolution: Resolution;
  /** Abandons by this caller in the group. */
  count: number;
  first: AbandonRecord;
  latest: AbandonRecord;
  /** This channel's delivered messages about the group, oldest first. */
  messages: DeliveredMessage[];
}

export function resolutionId(groupId: string): string {
  return `abandon-${groupId}-resolved`;
}

const how = (r: Resolution) => (r.resolved_how === 'callback_in' ? 'they called back' : 'the agent called them');

/** One line: "Reached: +1202… by agent 1002 at 10:31:05 UTC (they called back)". */
export function resolutionLine(n: Pick<ResolutionNotice, 'resolution' | 'latest'>): string {
  const at = new Date(n.resolution.resolved_at).toISOString().slice(11, 19);
  const by = n.resolution.resolved_by ? ` by agent ${n.resolution.resolved_by}` : '';
  return `Reached: ${callerLabel(n.latest.caller)}${by} at ${at} UTC (${how(n.resolution)})`;
}

/** A message edited in place: the resolution first, then what it said before. */
export function resolvedMessageText(n: ResolutionNotice, m: Notification): string {
  return `${resolutionLine(n)}\n\n${notificationText(m)}`;
}

/** A follow-up message (channels that cannot edit): the resolution and the alert it closes. */
export function resolutionFollowUpText(n: ResolutionNotice): string {
  const alert: Notification = { id: n.id, groupId: n.groupId, seq: 1, count: n.count, first: n.first, latest: n.latest };
  return [resolutionLine(n), `Closes the alert: ${notificationSubject(alert)}`].join('\n');
}

/** The webhook body: a second event about the group, under its own idempotency key. */
export function resolutionPayload(n: ResolutionNotice): Record<string, unknown> {
  return {
    event: 'abandon.resolved',
    type: 'abandon.resolved',
    idempotency_key: n.id,
    group_id: n.groupId,
    notification_ids: n.messages.map((m) => m.notification.id),
    count: n.count,
    first_at: n.first['@timestamp'],
    caller: n.latest.caller,
    resolved_at: n.resolution.resolved_at,
    resolved_by: n.resolution.resolved_by,
    resolved_how: n.resolution.resolved_how,
    text: resolutionLine(n),
  };
}
