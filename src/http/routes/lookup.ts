// GET /v1/lookup/<number>: who would this caller be routed to now? The answer is
// whatever `sticky-router lookup --json` prints, from the same injected function.
// The number goes through the one normaliser first, so garbage gets a 400 that
// says what was expected instead of an empty lookup.
import type { CountryCode } from 'libphonenumber-js';
import { normalizeNumber } from '../../numbers.js';
import { json, type Route } from '../reply.js';
import { TimeoutError, withTimeout } from '../../timeout.js';

export const lookupPrefix = '/v1/lookup/';

export interface LookupRouteOptions {
  /** `did`: decide as for a call to that DID (`?did=100`), like `lookup --did`. */
  lookup(number: string, did?: string): Promise<object>;
  /** DEFAULT_COUNTRY: lets national numbers (no +) through, as for real callers. */
  region?: CountryCode;
  timeoutMs: number;
}

export const lookupRoute = (o: LookupRouteOptions): Route => async (req, path) => {
  const did = new URL(req.url ?? '/', 'http://localhost').searchParams.get('did') ?? undefined;
  if (did !== undefined && !/^\+?[0-9]{1,20}$/.test(did)) return json(400, { error: `did=${JSON.stringify(did.slice(0, 32))}: expected a DID of digits (optionally with +)` });
  let raw: string;
  try {
    raw = decodeURIComponent(path.slice(lookupPrefix.length));
  } catch {
    return json(400, { error: 'the number in the path is not valid percent-encoding' });
  }
  const caller = normalizeNumber(raw, o.region);
  if (!caller.e164) {
    const hint = o.region ? `E.164 (+12025550100) or a ${o.region} national number` : 'E.164 with the country code, e.g. +12025550100 (set DEFAULT_COUNTRY to accept national numbers)';
    return json(400, { error: `${JSON.stringify(raw.slice(0, 64))} is not a phone number: expected ${hint}` });
  }
  try {
    const answer = await withTimeout(o.lookup(raw, did), o.timeoutMs, `the lookup did not answer within ${o.timeoutMs} ms`);
    return json(200, answer, { 'cache-control': 'no-store' });
  } catch (err) {
    if (err instanceof TimeoutError) return json(504, { error: err.message });
    return json(500, { error: `lookup failed: ${err instanceof Error ? err.message : String(err)}` });
  }
};
