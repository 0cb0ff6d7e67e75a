// Generic signed webhook. The receiver verifies
//   X-Sticky-Signature: v1=<hex HMAC-SHA256(secret, "<X-Sticky-Timestamp>.<raw body>")>
// over the exact bytes it received, rejects stale timestamps (replays), and drops
// repeats by Idempotency-Key (a retry after a lost response sends the same key).
import { createHmac } from 'node:crypto';
import { notificationPayload, type Notification } from '../notification.js';
import { resolutionPayload, type ResolutionNotice } from '../resolution-notice.js';
import { postJson } from './http.js';
import type { Notifier } from './types.js';

export interface WebhookOptions {
  url: string;
  secret: string;
  timeoutMs?: number;
  /** Unix seconds for the timestamp header; injectable for tests. */
  nowSeconds?: () => number;
}

export function signWebhook(secret: string, timestamp: number | string, rawBody: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

export class WebhookNotifier implements Notifier {
  readonly channel = 'webhook' as const;
  private readonly label: string;

  constructor(private readonly o: WebhookOptions) {
    // Origin only: a customer's URL may carry a token in its path or query.
    this.label = `webhook POST ${new URL(o.url).origin}`;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<void> {
    await this.post(n.id, JSON.stringify(notificationPayload(n)), signal);
  }

  /** A second event, "event": "abandon.resolved", signed the same way, keyed `abandon-<group>-resolved`. */
  async resolve(r: ResolutionNotice, signal?: AbortSignal): Promise<void> {
    await this.post(r.id, JSON.stringify(resolutionPayload(r)), signal);
  }

  private async post(key: string, body: string, signal?: AbortSignal): Promise<void> {
    // Signed per attempt: the timestamp is when this attempt was made, so a
    // receiver's replay window applies to retries as well.
    const ts = Math.floor(this.o.nowSeconds?.() ?? Date.now() / 1000);
    await postJson(this.o.url, body, {
      label: this.label,
      signal,
      timeoutMs: this.o.timeoutMs,
      headers: {
        'x-sticky-timestamp': String(ts),
        'x-sticky-signature': signWebhook(this.o.secret, ts, body),
        'idempotency-key': key,
      },
    });
  }
}
