// GET /v1/recordings?number=&from=&to=&agent=&uniqueid=: recorded calls, newest
// first, each with a signed media link (src/recordings). GET
// /v1/recordings/play?file=<path>: the stable link Kibana shows; it checks access
// (the caller got past the route's auth) and redirects to a fresh signed link,
// because a signed link stored in a document would expire.
import type { IncomingMessage } from 'node:http';
import type { CountryCode } from 'libphonenumber-js';
import { DateTime } from 'luxon';
import { normalizeNumber } from '../../numbers.js';
import type { RecordingLinks } from '../../recordings/links.js';
import type { RecordingStore } from '../../recordings/store.js';
import { isRecordingPath } from '../../recordings/store.js';
import type { RecordingQuery } from '../../recordings/search.js';
import { json, type Reply, type Route } from '../reply.js';
import { TimeoutError, withTimeout } from '../../timeout.js';

export const recordingsPath = '/v1/recordings';
export const playPath = '/v1/recordings/play';

export interface RecordingsRouteOptions {
  links: RecordingLinks;
  region?: CountryCode;
  timeoutMs: number;
}

const query = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x').searchParams;

/** Parses the search's query string; a Reply (400) names what is wrong. */
export function parseRecordingQuery(params: URLSearchParams, region?: CountryCode): RecordingQuery | Reply {
  const known = new Set(['number', 'from', 'to', 'agent', 'uniqueid', 'limit']);
  const unknown = [...params.keys()].filter((k) => !known.has(k));
  if (unknown.length > 0) return json(400, { error: `unknown parameter ${JSON.stringify(unknown[0]!.slice(0, 40))}: expected number, from, to, agent, uniqueid, limit` });
  const q: RecordingQuery = { limit: 50 };
  const number = params.get('number');
  if (number !== null) {
    const n = normalizeNumber(number, region);
    if (!n.e164) return json(400, { error: `number=${JSON.stringify(number.slice(0, 64))} is not a phone number: expected E.164 (+12025550100)${region ? ` or a ${region} national number` : ''}` });
    q.number = n.e164;
  }
  for (const k of ['from', 'to'] as const) {
    const v = params.get(k);
    if (v === null) continue;
    const t = parseTime(v);
    if (!t) return json(400, { error: `${k}=${JSON.stringify(v.slice(0, 64))} is not a time: expected ISO-8601, e.g. 2026-12-01T09:00:00Z` });
    q[k] = t;
  }
  const agent = params.get('agent');
  if (agent !== null) {
    if (!/^[A-Za-z0-9_+.-]{1,64}$/.test(agent)) return json(400, { error: 'agent: expected an extension (letters, digits, _ + . -)' });
    q.agent = agent;
  }
  const uid = params.get('uniqueid');
  if (uid !== null) {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(uid)) return json(400, { error: 'uniqueid: expected an Asterisk uniqueid, e.g. 1764590000.42' });
    q.uniqueid = uid;
  }
  const limit = params.get('limit');
  if (limit !== null) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 500) return json(400, { error: 'limit: expected an integer 1-500' });
    q.limit = n;
  }
  if (!q.number && !q.uniqueid && !q.agent && !q.from) return json(400, { error: 'say which calls: number, uniqueid, agent or from' });
  return q;
}

function parseTime(v: string): DateTime | undefined {
  try {
    const t = DateTime.fromISO(v, { zone: 'utc' });
    return t.isValid ? t : undefined;
  } catch {
    return undefined; // luxon's throwOnInvalid
  }
}

export const recordingsRoute = (o: RecordingsRouteOptions): Route => async (req) => {
  const q = parseRecordingQuery(query(req), o.region);
  if ('status' in q) return q;
  try {
    return json(200, await withTimeout(o.links.find(q), o.timeoutMs, `the search did not answer within ${o.timeoutMs} ms`));
  } catch (err) {
    if (err instanceof TimeoutError) return json(504, { error: err.message });
    return json(503, { error: `recording search failed: ${err instanceof Error ? err.message : String(err)}` });
  }
};

export const playRoute = (o: { links: RecordingLinks; store: RecordingStore }): Route => async (req) => {
  const file = query(req).get('file') ?? '';
  if (!isRecordingPath(file)) return json(400, { error: 'file: expected a recording path, YYYY/MM/DD/<uniqueid>.wav' });
  if (!(await o.store.exists(file))) return json(404, { error: 'no such recording (deleted by retention, or never written)' });
  const { url } = o.links.link(file);
  return { status: 302, headers: { location: url, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }, body: `see ${url}` };
};
