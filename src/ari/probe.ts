// ari-client's connect() kills the process when the API description answers 401
// or 500 (the swagger loader throws asynchronously). So ask Asterisk first.
export type ProbeResult = { ok: true } | { ok: false; auth: boolean; message: string };

export async function probeAri(baseUrl: string, username: string, password: string, timeoutMs = 3000): Promise<ProbeResult> {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  try {
    const res = await fetch(new URL('/ari/asterisk/info', baseUrl), {
      headers: { authorization: `Basic ${auth}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    if (res.status === 200) return { ok: true };
    if (res.status === 401 || res.status === 403) {
      return { ok: false, auth: true, message: `ARI at ${baseUrl} rejected user ${JSON.stringify(username)} (HTTP ${res.status}): check ARI_USERNAME/ARI_PASSWORD and ari.conf` };
    }
    return { ok: false, auth: false, message: `ARI at ${baseUrl} answered HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, auth: false, message: `ARI at ${baseUrl} unreachable: ${(err as Error).message}` };
  }
}
