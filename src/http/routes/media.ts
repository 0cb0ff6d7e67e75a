// GET /media/<token>: one recording, for a browser that follows a signed link (no
// bearer token: the token in the path is the authorisation). audio/wav with
// Content-Length and Accept-Ranges; a single byte range gets 206 (seeking in an
// <audio> element). A tampered, expired or foreign token gets 403 and a log line
// that names the reason, never the token.
import type { DateTime } from 'luxon';
import type { Logger } from '../../log.js';
import { mediaPrefix } from '../../recordings/links.js';
import type { LinkSigner } from '../../recordings/signer.js';
import type { RecordingStore } from '../../recordings/store.js';
import { json, type Reply, type Route } from '../reply.js';

export { mediaPrefix };

export interface MediaRouteOptions {
  signer: LinkSigner;
  store: RecordingStore;
  clock: () => DateTime;
  log: Logger;
  onServed?: (status: number) => void;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` against a size: the range, 'unsatisfiable', or undefined (serve it whole). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges or another unit: RFC 9110 lets a server ignore Range and send it all.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size || !Number.isSafeInteger(start)) return 'unsatisfiable';
  return { start, end };
}

export const mediaRoute = (o: MediaRouteOptions): Route => async (req, path) => {
  const token = path.slice(mediaPrefix.length);
  const check = o.signer.verify(token, o.clock());
  const ua = String(req.headers['user-agent'] ?? '').slice(0, 120);
  if (!check.ok) {
    o.log.warn({ why: check.why, remote: req.socket.remoteAddress, userAgent: ua }, 'media link refused');
    o.onServed?.(403);
    return json(403, { error: check.why === 'expired' ? 'this link has expired: ask for a new one' : 'this link is not valid' });
  }
  const opened = await o.store.open(check.file);
  if (!opened.ok) {
    // A valid signature over a path the store refuses is our own bug or a deleted file.
    o.log.warn({ why: opened.why, file: check.file }, 'media link for a recording that cannot be served');
    o.onServed?.(opened.why === 'missing' ? 404 : 403);
    return opened.why === 'missing' ? json(404, { error: 'this recording is no longer there (retention)' }) : json(403, { error: 'this link is not valid' });
  }
  const { handle, size } = opened;
  const base = {
    'content-type': 'audio/wav',
    'accept-ranges': 'bytes',
    // Private: a shared cache must not keep a recording; the link itself expires.
    'cache-control': 'private, no-store',
    'x-content-type-options': 'nosniff',
    'content-disposition': `inline; filename="${check.file.split('/').pop()!}"`,
  };
  const range = parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, size);
  if (range === 'unsatisfiable') {
    await handle.close();
    o.onServed?.(416);
    return { status: 416, headers: { ...base, 'content-range': `bytes */${size}`, 'content-length': '0' }, body: '' };
  }
  const reply: Reply = range
    ? {
        status: 206,
        headers: { ...base, 'content-range': `bytes ${range.start}-${range.end}/${size}`, 'content-length': String(range.end - range.start + 1) },
        body: undefined,
        stream: handle.createReadStream({ start: range.start, end: range.end, autoClose: true }),
      }
    : { status: 200, headers: { ...base, 'content-length': String(size) }, body: undefined, stream: handle.createReadStream({ autoClose: true }) };
  o.log.info({ file: check.file, status: reply.status, range: range ? `${range.start}-${range.end}` : undefined, remote: req.socket.remoteAddress }, 'recording served');
  o.onServed?.(reply.status);
  return reply;
};
