// The HTTPS reverse proxy of docker/caddy/Caddyfile (the compose stack's, and the
// README's bare-metal one), run for real with Debian's caddy in front of the real
// router: links the router hands out point at the proxy (PUBLIC_URL), verify
// against Caddy's internal CA, serve whole and by range through it, and nothing
// but the recordings endpoints is published.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { DateTime } from 'luxon';
import { startRouter, type RouterProcess } from '../support/router.js';
import { historyDoc, seededCluster } from '../support/history.js';
import type { CdrDocument } from '../../src/cdr/schema.js';

const root = resolve(import.meta.dirname, '..', '..');
const prefix = `it-recproxy-${Date.now()}`;
const token = 'proxy-test-token-0123456789abcdef';
const work = mkdtempSync(join(tmpdir(), 'sticky-caddy-'));
const recDir = join(work, 'recordings');
const day = DateTime.utc().toFormat('yyyy/MM/dd');
const rel = `${day}/1764590000.77.wav`;
let cluster: Awaited<ReturnType<typeof seededCluster>>;
let router: RouterProcess;
let caddy: ChildProcess;
let caddyPort = 0;
let caddyLog = '';

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

function wavBytes(seconds: number): Buffer {
  const data = Buffer.alloc(seconds * 16000, 0x11);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
const file = wavBytes(3);

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const ca = readFileSync(join(work, 'data/caddy/pki/authorities/local/root.crt'));
  return new Promise((res, rej) => {
    const req = request(url, { headers, ca, servername: 'localhost' }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', rej);
    req.end();
  });
}

before(async () => {
  mkdirSync(join(recDir, day), { recursive: true });
  writeFileSync(join(recDir, rel), file);
  const doc: CdrDocument = { ...historyDoc('+12025550190', '1003', DateTime.utc().minus({ minutes: 3 })), recording: { file: rel, duration_s: 3, bytes: file.length } };
  cluster = await seededCluster(prefix, [doc]);
  caddyPort = await freePort();
  router = await startRouter({
    ES_NODE: cluster.node,
    ES_INDEX_PREFIX: prefix,
    RECORDINGS: 'on',
    RECORDINGS_DIR: recDir,
    RECORDINGS_TOKEN: token,
    PUBLIC_URL: `https://localhost:${caddyPort}`,
  });
  const listening = router.lines.find((l) => l.msg === 'http listening') as { port: number };
  caddy = spawn('caddy', ['run', '--config', join(root, 'docker/caddy/Caddyfile'), '--adapter', 'caddyfile'], {
    env: { PATH: process.env.PATH, HOME: work, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config'), RECORDINGS_SITE: `localhost:${caddyPort}`, ROUTER_UPSTREAM: `127.0.0.1:${listening.port}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  caddy.stdout!.on('data', (c: Buffer) => (caddyLog += c.toString()));
  caddy.stderr!.on('data', (c: Buffer) => (caddyLog += c.toString()));
  // Up once it has issued its certificate and answers TLS.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (caddy.exitCode !== null) throw new Error(`caddy exited ${caddy.exitCode}: ${caddyLog.slice(-800)}`);
    if (existsSync(join(work, 'data/caddy/pki/authorities/local/root.crt'))) {
      const ok = await get(`https://localhost:${caddyPort}/`).then(() => true, () => false);
      if (ok) break;
    }
    if (Date.now() > deadline) throw new Error(`caddy not up after 30 s: ${caddyLog.slice(-800)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(async () => {
  caddy?.kill('SIGTERM');
  await router?.stop();
  await cluster?.clean(prefix);
  await cluster?.close();
  rmSync(work, { recursive: true, force: true });
});

test('through Caddy (HTTPS, internal CA): search, whole file, range, and the Kibana play redirect', async () => {
  const base = `https://localhost:${caddyPort}`;
  let found: { url: string; uniqueid: string }[] = [];
  const deadline = Date.now() + 10_000;
  while (found.length === 0) {
    const s = await get(`${base}/v1/recordings?number=%2B12025550190`, { authorization: `Bearer ${token}` });
    assert.equal(s.status, 200, s.body.toString());
    found = (JSON.parse(s.body.toString()) as { recordings: typeof found }).recordings;
    if (Date.now() > deadline) break;
  }
  assert.equal(found.length, 1);
  assert.ok(found[0]!.url.startsWith(`${base}/media/`), `the link points at the proxy (PUBLIC_URL): ${found[0]!.url}`);

  const whole = await get(found[0]!.url);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers['content-type'], 'audio/wav');
  assert.equal(whole.headers['content-length'], String(file.length));
  assert.equal(whole.headers['accept-ranges'], 'bytes');
  assert.ok(whole.body.equals(file));
  const part = await get(found[0]!.url, { range: 'bytes=44-143' });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 44-143/${file.length}`);
  assert.ok(part.body.equals(file.subarray(44, 144)));

  const play = await get(`${base}/v1/recordings/play?file=${encodeURIComponent(rel)}`, { authorization: `Basic ${Buffer.from(`supervisor:${token}`).toString('base64')}` });
  assert.equal(play.status, 302);
  assert.match(String(play.headers.location), new RegExp(`^${base}/media/`));
  assert.equal((await get(String(play.headers.location))).status, 200);

  const tampered = await get(found[0]!.url.slice(0, -2) + (found[0]!.url.endsWith('AA') ? 'BB' : 'AA'));
  assert.equal(tampered.status, 403);
  for (const tok of [found[0]!.url.split('/media/')[1]!, String(play.headers.location).split('/media/')[1]!, token]) {
    assert.ok(!caddyLog.includes(tok), `a token is in the proxy log: ${caddyLog.split('\n').filter((l) => l.includes(tok)).join('\n').slice(0, 1500)}`);
  }
  assert.match(caddyLog, /handled request/, 'the access log is on (so the check above means something)');
});

test('the proxy publishes the recordings endpoints only: not /metrics, /v1/lookup or the probes', async () => {
  for (const p of ['/metrics', '/v1/lookup/%2B12025550190', '/healthz', '/readyz', '/']) {
    const r = await get(`https://localhost:${caddyPort}${p}`, { authorization: `Bearer ${token}` });
    assert.equal(r.status, 404, p);
  }
});
