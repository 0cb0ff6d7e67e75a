// A monitoring subscription's receiver: one POST of the frozen body per attempt,
// signed per attempt (HMAC) or over mutual TLS (client certificate and key, with an
// optional CA to trust the receiver's own certificate). node:https rather than fetch:
// a client certificate needs a TLS agent. Status codes are classified as for the
// abandon webhooks (notifiers/http.ts): 5xx/408/429/401/403 retried, other 4xx permanent.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { isPermanentStatus, oneLine, retryAfterMs, scrubUrl } from '../abandon/notifiers/http.js';
import { DeliveryError, SEND_TIMEOUT_MS } from '../abandon/notifiers/types.js';
import type { DeliveryRow, DeliveryTarget } from './outbox.js';
import { signedHeaders } from './signature.js';
import type { Subscription } from './config.js';

export class HttpTarget implements DeliveryTarget {
  readonly id: string;
  private readonly agent: Agent | undefined;
  private readonly label: string;

  constructor(
    private readonly s: Subscription,
    private readonly opts: { timeoutMs?: number; now?: () => number } = {},
  ) {
    this.id = s.id;
    const u = new URL(s.url);
    this.label = `monitoring ${s.id} POST ${u.origin}`;
    if (s.auth.type === 'mtls') {
      this.agent = new Agent({ cert: s.auth.cert, key: s.auth.key, ...(s.auth.ca ? { ca: s.auth.ca } : {}), keepAlive: true, maxSockets: 1 });
    } else if (u.protocol === 'https:') {
      this.agent = new Agent({ keepAlive: true, maxSockets: 1, ...(s.ca ? { ca: s.ca } : {}) });
    }
  }

  send(row: DeliveryRow, signal: AbortSignal): Promise<void> {
    const s = this.s;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'sticky-router',
      'idempotency-key': row.id,
      'x-sticky-event-type': row.kind,
      'content-length': String(Buffer.byteLength(row.body)),
    };
    if (s.auth.type === 'hmac') Object.assign(headers, signedHeaders(s.auth.consumerId, s.auth.keys, s.url, row.body, (this.opts.now ?? Date.now)()));
    const timeoutMs = this.opts.timeoutMs ?? SEND_TIMEOUT_MS;
    const u = new URL(s.url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: 'POST', headers, agent: this.agent, signal, timeout: timeoutMs });
    return new Promise<void>((resolve, reject) => {
      req.on('timeout', () => req.destroy(new DeliveryError(`${this.label}: no response within ${timeoutMs} ms`, false)));
      req.on('error', (err) => reject(err instanceof DeliveryError ? err : new DeliveryError(`${this.label}: ${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim(), false)));
      req.on('response', (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < 4096) text += c;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          const retryAfter = [res.headers['retry-after']].flat()[0] ?? null;
          reject(new DeliveryError(`${this.label}: HTTP ${status}${text ? ` ${oneLine(scrubUrl(text, s.url))}` : ''}`, isPermanentStatus(status), retryAfterMs(retryAfter), text));
        });
        res.on('error', (err) => reject(new DeliveryError(`${this.label}: ${err.message}`, false)));
      });
      req.end(row.body);
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}
