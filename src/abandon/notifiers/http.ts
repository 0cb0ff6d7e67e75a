// One JSON POST with a timeout, and the retry policy for HTTP receivers:
//   2xx                                  delivered
//   408, 425, 429, 5xx                   retryable: the receiver is busy or down
//   401, 403                             retryable: credentials or permissions, which an
//                                        operator fixes without the message changing; it
//                                        waits in the outbox (at the 60 s cap) meanwhile
//   3xx and every other 4xx              permanent: this request will not be accepted
//                                        (400 bad payload, 404/410 hook revoked, 413 ...)
//   connection error, DNS error, timeout retryable
// `label` names the receiver in errors; it never contains a URL's path or query,
// which for Slack and Telegram carry the credential.
import { DeliveryError, SEND_TIMEOUT_MS } from './types.js';

export interface PostOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
  label: string;
}

export interface PostResult {
  status: number;
  body: string;
}

export async function postJson(url: string, body: string, opts: PostOptions): Promise<PostResult> {
  const timeoutMs = opts.timeoutMs ?? SEND_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'sticky-router', ...opts.headers },
      body,
      signal,
      // A redirect would turn the POST into a GET on some hops: configure the final URL.
      redirect: 'manual',
    });
  } catch (err) {
    if (timeout.aborted) throw new DeliveryError(`${opts.label}: no response within ${timeoutMs} ms`, false);
    throw new DeliveryError(`${opts.label}: ${describeFetchError(err)}`, false);
  }
  const text = await readBounded(res, signal);
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: text };
  throw new DeliveryError(
    `${opts.label}: HTTP ${res.status}${text ? ` ${oneLine(scrubUrl(text, url))}` : ''}`,
    isPermanentStatus(res.status),
    retryAfterMs(res.headers.get('retry-after')),
    text,
  );
}

/**
 * Receivers and proxies echo the request path in error pages ("Cannot POST
 * /services/T0/B0/<secret>"); Slack and Telegram URLs carry their secret there.
 */
export function scrubUrl(text: string, url: string): string {
  let out = text;
  try {
    const u = new URL(url);
    for (const part of [u.href, `${u.pathname}${u.search}`, u.pathname, u.search.slice(1)]) {
      if (part.length > 1) out = out.split(part).join('<redacted>');
    }
  } catch {
    /* not a URL: nothing to scrub */
  }
  return out;
}

export function isPermanentStatus(status: number): boolean {
  if (status >= 500 || status === 408 || status === 425 || status === 429 || status === 401 || status === 403) return false;
  return status >= 300;
}

/** Retry-After as seconds or an HTTP date. */
export function retryAfterMs(v: string | null, now = Date.now()): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/** undici says "fetch failed" and puts the reason (ECONNREFUSED 127.0.0.1:9) in `cause`. */
function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.message ?? e.cause?.code;
  return cause ? `${e.message} (${cause})` : e.message;
}

/** Reads at most 4 KiB of the reply: enough for an error message, and it frees the connection. */
async function readBounded(res: Response, signal: AbortSignal): Promise<string> {
  try {
    if (!res.body) return '';
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (size < 4096 && !signal.aborted) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    await reader.cancel().catch(() => undefined);
    return Buffer.concat(chunks).toString('utf8').slice(0, 4096);
  } catch {
    return '';
  }
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 300);
}
