// Receivers for the monitoring webhooks, written independently of src/monitoring:
// an HMAC receiver that recomputes the documented signature with node:crypto, and
// an mTLS receiver that accepts only client certificates from its own CA. Certs are
// made with openssl for each run.
import { execFileSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';

export interface SignedRequest {
  headers: IncomingMessage['headers'];
  rawBody: string;
  /** The key version whose signature matched, or why none did. */
  verdict: { ok: true; version: string } | { ok: false; why: string };
  at: number;
}

/**
 * Verifies `X-Sticky-Signature: v<ver>=<hex>,...` = HMAC-SHA256(secret,
 * "<X-Sticky-Timestamp>.<URL>.<raw body>") for the keys it currently holds
 * (`keys` can be changed between calls: that is the rotation). 401 when none matches.
 */
export async function startSignedReceiver(consumerId: string, keys: Map<string, string>) {
  const requests: SignedRequest[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.url}`;
      const verdict = check(req.headers, url, rawBody, consumerId, keys);
      requests.push({ headers: req.headers, rawBody, verdict, at: Date.now() });
      res.writeHead(verdict.ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(verdict));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/monitor/voice-quality`,
    requests,
    /** Checks a request again against another key set (e.g. the old key only). */
    recheck: (r: SignedRequest, other: Map<string, string>) => check(r.headers, `http://127.0.0.1:${port}/monitor/voice-quality`, r.rawBody, consumerId, other),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

function check(headers: IncomingMessage['headers'], url: string, body: string, consumerId: string, keys: Map<string, string>): SignedRequest['verdict'] {
  if (headers['x-sticky-consumer-id'] !== consumerId) return { ok: false, why: `consumer ${String(headers['x-sticky-consumer-id'])}` };
  const ts = Number(headers['x-sticky-timestamp']);
  if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return { ok: false, why: 'stale or missing timestamp' };
  for (const part of String(headers['x-sticky-signature'] ?? '').split(',')) {
    const [label, hex] = part.split('=');
    const version = label?.replace(/^v/, '');
    const secret = version ? keys.get(version) : undefined;
    if (!secret || !hex) continue;
    const want = createHmac('sha256', secret).update(`${ts}.${url}.${body}`).digest();
    const got = Buffer.from(hex, 'hex');
    if (got.length === want.length && timingSafeEqual(got, want)) return { ok: true, version: version! };
  }
  return { ok: false, why: 'no valid signature for a key this receiver holds' };
}

export interface Certs {
  dir: string;
  caCert: string;
  serverKey: string;
  serverCert: string;
  clientKeyFile: string;
  clientCertFile: string;
  caCertFile: string;
  rogueKey: string;
  rogueCert: string;
}

/** A CA, a server cert for 127.0.0.1, a client cert from that CA, and a client cert from another CA. */
export function makeCerts(dir: string): Certs {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) => ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
  const leaf = (name: string, caName: string, cn: string, ext: string) => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  ca('test-ca');
  ca('rogue-ca');
  leaf('server', 'test-ca', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'test-ca', 'sticky-router-client', 'extendedKeyUsage=clientAuth\n');
  leaf('rogue', 'rogue-ca', 'sticky-router-client', 'extendedKeyUsage=clientAuth\n');
  const r = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    dir,
    caCert: r('test-ca.pem'),
    caCertFile: join(dir, 'test-ca.pem'),
    serverKey: r('server.key'),
    serverCert: r('server.pem'),
    clientKeyFile: join(dir, 'client.key'),
    clientCertFile: join(dir, 'client.pem'),
    rogueKey: r('rogue.key'),
    rogueCert: r('rogue.pem'),
  };
}

export interface MtlsRequest {
  peer: string;
  rawBody: string;
  headers: IncomingMessage['headers'];
}

/** HTTPS that demands a client certificate issued by the test CA; counts refused handshakes. */
export async function startMtlsReceiver(c: Certs) {
  const requests: MtlsRequest[] = [];
  const refused: string[] = [];
  const server = createHttpsServer({ key: c.serverKey, cert: c.serverCert, ca: c.caCert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (x: Buffer) => chunks.push(x));
    req.on('end', () => {
      const peer = [(req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? ''].flat()[0] ?? '';
      requests.push({ peer, rawBody: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(200);
      res.end('{"ok":true}');
    });
  });
  server.on('tlsClientError', (err) => refused.push(err.message));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}/monitor/api`,
    port,
    requests,
    refused,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
