// AMI QueueCallerAbandon → AbandonEvent. Asterisk sends it when a caller hangs up
// in Queue() before a member answers (AMI read class `agent`).
import type { DateTime } from 'luxon';
import type { CountryCode } from 'libphonenumber-js';
import type { AmiEvent } from '../ami/connection.js';
import { normalizeNumber } from '../numbers.js';
import type { AbandonEvent } from './sink.js';

export interface QueueAbandonContext {
  region?: CountryCode;
  /** When the event arrived: Asterisk's events carry no timestamp of their own here. */
  now: DateTime;
  /** The DID the caller dialled (STICKY_DID set by [sticky-inbound]). */
  did?: string;
  /** The agent the router rang first (STICKY_AGENT set by [sticky-ring]). */
  stickyAgent?: string;
  /** When the caller joined the queue (QueueCallerJoin), used only if HoldTime is missing. */
  joinedAt?: DateTime;
  /**
   * ms the caller has been waiting (since arrival in [sticky-inbound], or since their last
   * conversation ended), when known. The wait counts from there, as for sticky_ring
   * abandons: HoldTime covers only the queue (not the sticky ring or the IVR before it)
   * and is truncated to whole seconds.
   */
  waitingMs?: number;
}

export function abandonFromQueueEvent(e: AmiEvent, ctx: QueueAbandonContext): AbandonEvent {
  if (e.Event !== 'QueueCallerAbandon') throw new Error(`abandonFromQueueEvent: not a QueueCallerAbandon event (${e.Event})`);
  const uniqueid = text(e.Uniqueid);
  if (!uniqueid) throw new Error('abandonFromQueueEvent: QueueCallerAbandon without Uniqueid');
  // HoldTime is the seconds the caller waited in the queue. Asterisk's docs are
  // inconsistent about the unit; an integration test checks it against the clock.
  const hold = count(e.HoldTime);
  const queuedMs = hold !== undefined ? hold * 1000 : ctx.joinedAt ? Math.max(0, ctx.now.toMillis() - ctx.joinedAt.toMillis()) : 0;
  const waitedMs = Math.max(queuedMs, ctx.waitingMs ?? 0);
  const event: AbandonEvent = {
    source: 'queue',
    at: ctx.now.toUTC().toISO() ?? new Date(ctx.now.toMillis()).toISOString(),
    // Asterisk writes `<unknown>` when the trunk sent no caller ID.
    caller: normalizeNumber(e.CallerIDNum === '<unknown>' ? '' : e.CallerIDNum, ctx.region),
    waitedMs,
    uniqueid,
  };
  const queue = text(e.Queue);
  if (queue) event.queue = queue;
  const position = count(e.Position);
  if (position !== undefined) event.position = position;
  const original = count(e.OriginalPosition);
  if (original !== undefined) event.originalPosition = original;
  const linkedid = text(e.Linkedid);
  if (linkedid) event.linkedid = linkedid;
  if (ctx.did) event.did = ctx.did;
  if (ctx.stickyAgent) event.agent = ctx.stickyAgent;
  return event;
}

function text(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/** A non-negative integer field, or undefined when absent or malformed. */
function count(v: string | undefined): number | undefined {
  const t = v?.trim();
  if (!t || !/^\d+$/.test(t)) return undefined;
  return Number(t);
}
