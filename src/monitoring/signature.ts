// HMAC-SHA256 request signatures for monitoring webhooks. What is signed:
//   `${timestamp}.${url}.${rawBody}`   (timestamp: Unix seconds; url: the exact URL POSTed to)
// Headers sent:
//   X-Sticky-Consumer-Id:  the subscription's consumer id (who is calling)
//   X-Sticky-Timestamp:    the timestamp signed
//   X-Sticky-Key-Version:  the key version the receiver should prefer (the newest)
//   X-Sticky-Signature:    `v<version>=<hex>` for every active key, comma-separated
// Several active keys let a receiver rotate: add the new key here, switch the receiver
// over (it finds its version in the list), then retire the old one. A receiver checks
// the timestamp is recent (e.g. 5 minutes) so a captured request cannot be replayed.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SigningKey {
  version: string;
  secret: string;
}

export const signatureHeaders = {
  consumer: 'x-sticky-consumer-id',
  timestamp: 'x-sticky-timestamp',
  keyVersion: 'x-sticky-key-version',
  signature: 'x-sticky-signature',
} as const;

export function signingString(timestamp: number, url: string, body: string): string {
  return `${timestamp}.${url}.${body}`;
}

export function sign(secret: string, timestamp: number, url: string, body: string): string {
  return createHmac('sha256', secret).update(signingString(timestamp, url, body)).digest('hex');
}

/** The headers for one attempt, signed now with every active key (newest first). */
export function signedHeaders(consumerId: string, keys: readonly SigningKey[], url: string, body: string, nowMs: number): Record<string, string> {
  const t = Math.floor(nowMs / 1000);
  return {
    [signatureHeaders.consumer]: consumerId,
    [signatureHeaders.timestamp]: String(t),
    [signatureHeaders.keyVersion]: keys[0]!.version,
    [signatureHeaders.signature]: keys.map((k) => `v${k.version}=${sign(k.secret, t, url, body)}`).join(','),
  };
}

export type VerifyResult = { ok: true; version: string } | { ok: false; why: string };

/** What a receiver does (also used by the tests' independent receiver as the reference). */
export function verifySignature(
  headers: Record<string, string | string[] | undefined>,
  url: string,
  body: string,
  keys: Readonly<Record<string, string>>,
  opts: { nowMs?: number; toleranceS?: number; consumerId?: string } = {},
): VerifyResult {
  const h = (k: string) => [headers[k]].flat()[0];
  if (opts.consumerId !== undefined && h(signatureHeaders.consumer) !== opts.consumerId) return { ok: false, why: 'unknown consumer' };
  const t = Number(h(signatureHeaders.timestamp));
  if (!Number.isInteger(t)) return { ok: false, why: 'no timestamp' };
  if (Math.abs((opts.nowMs ?? Date.now()) / 1000 - t) > (opts.toleranceS ?? 300)) return { ok: false, why: 'timestamp too old' };
  for (const part of (h(signatureHeaders.signature) ?? '').split(',')) {
    const m = /^v([^=]+)=([0-9a-f]{64})$/.exec(part.trim());
    const secret = m ? keys[m[1]!] : undefined;
    if (!m || secret === undefined) continue;
    const want = Buffer.from(sign(secret, t, url, body), 'hex');
    if (timingSafeEqual(want, Buffer.from(m[2]!, 'hex'))) return { ok: true, version: m[1]! };
    return { ok: false, why: `bad signature for key v${m[1]}` };
  }
  return { ok: false, why: 'no signature with a known key version' };
}
