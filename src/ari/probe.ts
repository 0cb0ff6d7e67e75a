// ari-client's connect() kills the process when the API description answers 401
// or 500 (the swagger loader throws asynchronously). So ask Asterisk first.
import { safeUrl } from '../log.js';

export type ProbeResult = { ok: true } | { ok: false; auth: boolean; message: string };

export async function probeAri(baseUrl: string, username: string, password: string, timeoutMs = 3000): Promise<ProbeResult> {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  // Never name a URL with credentials in a message (config strips them; this is the second line).
  const target = safeUrl(baseUrl);
  try {
    const url = new URL('/ari/asterisk/info', baseUrl);
    url.username = '';
    url.password = '';
    const res = await fetch(url, {
      headers: { authorization: `Basic ${auth}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    if (res.status === 200) return { ok: true };
    if (res.status === 401 || res.status === 403) {
      return { ok: false, auth: true, message: `ARI at ${target} rejected user ${JSON.stringify(username)} (HTTP ${res.status}): check ARI_USERNAME/ARI_PASSWORD and ari.conf` };
    }
    return { ok: false, auth: false, message: `ARI at ${target} answered HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, auth: false, message: `ARI at ${target} unreachable: ${(err as Error).message}` };
  }
}
