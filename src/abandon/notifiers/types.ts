// The contract between the outbox and a channel. A notifier makes one attempt;
// the outbox decides when to try again. It tells the two kinds of failure apart:
// retryable (the receiver is down, slow, rate-limiting or misconfigured in a way an
// operator can fix) and permanent (this message will never be accepted as it is).
import type { Channel } from '../notify-config.js';
import type { Notification } from '../notification.js';
import type { ResolutionNotice } from '../resolution-notice.js';

/** What the receiver said about a delivered message, kept so that the message can be edited later. */
export interface DeliveryReceipt {
  /** Channel-specific reference as JSON text (Slack {channel, ts}, Telegram {chat_id, message_id}). */
  ref?: string;
}

export interface Notifier {
  readonly channel: Channel;
  /** One delivery attempt; resolves when the receiver accepted it, throws a DeliveryError otherwise. */
  send(n: Notification, signal?: AbortSignal): Promise<DeliveryReceipt | void>;
  /**
   * The abandoned caller was reached: close the alert (edit the messages sent, or send a
   * follow-up). One attempt, same failure contract as send(). Absent: the channel is not told.
   */
  resolve?: (r: ResolutionNotice, signal?: AbortSignal) => Promise<void>;
  /** Releases connections (the SMTP transport). */
  close?(): void;
}

export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    message: string,
    /** True when retrying the same message cannot succeed: the outbox marks it failed. */
    readonly permanent: boolean,
    /** The receiver asked to wait this long (Retry-After, Telegram's retry_after). */
    readonly retryAfterMs?: number,
    /** The start of the receiver's reply body, for channel-specific details. */
    readonly responseBody?: string,
  ) {
    super(message);
  }
}

/** Per-attempt budget: a receiver that accepts the connection and then hangs costs at most this. */
export const SEND_TIMEOUT_MS = 10_000;
