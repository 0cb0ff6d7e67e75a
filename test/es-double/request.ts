// Turning node's IncomingMessage into a parsed EsRequest: body decoding
// (gzip/deflate), content-type checks like ES's, JSON / NDJSON parsing, and
// typed query-string parameter helpers.

import type { IncomingMessage } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { EsError, err } from './errors.js';

export interface EsRequest {
  method: string;
  /** Raw path without the query string. */
  path: string;
  /** Decoded path segments (the client URL-encodes `a,b` as `a%2Cb`). */
  segments: string[];
  qs: URLSearchParams;
  /** Parsed JSON body, or an array of parsed lines for NDJSON APIs. */
  body: unknown;
  /** NDJSON bodies must end with a newline (ES rejects them otherwise). */
  ndjsonTerminated: boolean;
}

export interface EsResponse {
  status: number;
  body?: unknown;
}

const JSON_TYPES = new Set(['application/json', 'application/vnd.elasticsearch+json']);
const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/vnd.elasticsearch+x-ndjson']);

export async function readRequest(req: IncomingMessage): Promise<EsRequest> {
  const url = new URL(req.url ?? '/', 'http://es-double');
  const segments = url.pathname.split('/').filter((s) => s.length > 0).map(decodeURIComponent);
  const raw = decode(await readAll(req), req.headers['content-encoding']);
  const text = raw.toString('utf8');
  const base = { method: req.method ?? 'GET', path: url.pathname, segments, qs: url.searchParams };
  if (text.trim().length === 0) return { ...base, body: undefined, ndjsonTerminated: true };
  const mime = checkContentType(req.headers['content-type']);
  const last = segments[segments.length - 1];
  if (NDJSON_TYPES.has(mime) || last === '_bulk' || last === '_msearch') {
    return { ...base, body: parseNdjson(text), ndjsonTerminated: text.endsWith('\n') };
  }
  return { ...base, body: parseJson(text), ndjsonTerminated: true };
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function decode(buf: Buffer, encoding: string | undefined): Buffer {
  if (buf.length === 0 || encoding === undefined) return buf;
  if (encoding.includes('gzip')) return gunzipSync(buf);
  if (encoding.includes('deflate')) return inflateSync(buf);
  return buf;
}

/** ES is strict about content types; the client's vendor types are accepted for API versions 7 and 8. */
function checkContentType(header: string | undefined): string {
  const [mimeRaw = '', ...params] = (header ?? '').split(';');
  const mime = mimeRaw.trim().toLowerCase();
  if (!JSON_TYPES.has(mime) && !NDJSON_TYPES.has(mime)) {
    throw new EsError(406, 'media_type_header_exception', `Content-Type header [${header ?? ''}] is not supported`);
  }
  const compat = params.map((p) => p.trim().split('=')).find(([k]) => k?.toLowerCase() === 'compatible-with');
  if (compat && compat[1] !== '7' && compat[1] !== '8') {
    throw new EsError(400, 'media_type_header_exception', 'Invalid media-type value on headers [Content-Type]');
  }
  return mime;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EsError(400, 'x_content_parse_exception', `[1:1] ${(e as Error).message}`);
  }
}

function parseNdjson(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((line, i) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (e) {
        throw new EsError(400, 'x_content_parse_exception', `[${i + 1}:1] ${(e as Error).message}`);
      }
    });
}

// ------------------------------------------------------------ query params

export function boolParam(qs: URLSearchParams, name: string, dflt: boolean): boolean {
  const v = qs.get(name);
  if (v === null) return dflt;
  if (v === '' || v === 'true') return true;
  if (v === 'false') return false;
  throw err.illegalArgument(`Failed to parse value [${v}] as only [true] or [false] are allowed.`);
}

export function intParam(qs: URLSearchParams, name: string): number | undefined {
  const v = qs.get(name);
  if (v === null) return undefined;
  if (!/^-?\d+$/.test(v)) throw err.illegalArgument(`Failed to parse int parameter [${name}] with value [${v}]`);
  return Number(v);
}

export function strParam(qs: URLSearchParams, name: string): string | undefined {
  return qs.get(name) ?? undefined;
}

/** Parameters every ES endpoint accepts. */
export const COMMON_PARAMS = ['pretty', 'human', 'error_trace', 'filter_path'];

/** ES rejects unknown query parameters; so does the double for the APIs that list theirs. */
export function checkParams(req: EsRequest, allowed: readonly string[]): void {
  for (const key of req.qs.keys()) {
    if (!allowed.includes(key) && !COMMON_PARAMS.includes(key)) {
      throw err.illegalArgument(`request [${req.path}] contains unrecognized parameter: [${key}]`);
    }
  }
}
