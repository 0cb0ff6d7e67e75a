// Bearer-token check for every endpoint but the probes. The comparison hashes both
// sides first, so it takes the same time whatever the length or content of a guess.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { json, type Reply } from './reply.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Returns undefined when the request may pass, or the 401 to send. */
export function checkBearer(headers: IncomingHttpHeaders, token: string | undefined): Reply | undefined {
  if (!token) return undefined;
  const header = headers.authorization;
  const m = header ? /^Bearer[ \t]+(\S+)\s*$/i.exec(header) : null;
  if (!m) {
    return json(401, { error: 'authorization required: send "Authorization: Bearer <HTTP_TOKEN>"' }, { 'www-authenticate': 'Bearer realm="sticky-router"' });
  }
  if (!timingSafeEqual(digest(m[1]!), digest(token))) {
    return json(401, { error: 'the bearer token is not HTTP_TOKEN' }, { 'www-authenticate': 'Bearer realm="sticky-router", error="invalid_token"' });
  }
  return undefined;
}
