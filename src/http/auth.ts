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

/**
 * Access to recordings: `Authorization: Bearer <token>` (API clients, the CLI), or
 * HTTP Basic with the token as the password (a browser following Kibana's link
 * prompts for it once per session; the user name is free, for the proxy's log).
 * Any of `tokens` passes. `browser` asks for Basic in the 401, so browsers prompt.
 */
export function checkRecordingsAccess(headers: IncomingHttpHeaders, tokens: readonly string[], browser: boolean): Reply | undefined {
  const challenge = browser ? 'Basic realm="sticky-router recordings", charset="UTF-8"' : 'Bearer realm="sticky-router recordings"';
  const header = headers.authorization ?? '';
  let presented: string | undefined;
  const bearer = /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
  const basic = /^Basic[ \t]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (bearer) presented = bearer[1];
  else if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    presented = colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  if (presented === undefined) return json(401, { error: 'authorization required: RECORDINGS_TOKEN (or HTTP_TOKEN) as a bearer token, or as the password' }, { 'www-authenticate': challenge });
  const p = digest(presented);
  // Compare against every token, not stopping at the first match: the time taken says nothing.
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(p, digest(t)) || ok;
  return ok ? undefined : json(401, { error: 'not a recordings token' }, { 'www-authenticate': challenge });
}
