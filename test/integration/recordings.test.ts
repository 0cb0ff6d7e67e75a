// Recordings end to end on the real PBX: sipp phones carrying real PCMU audio
// (a 440 Hz tone from the caller, 1000 Hz from the agent), MixMonitor started by
// the dialplan when the agent answers, the CDR carrying the file, the search API
// finding it, the signed link serving it whole and by range, Debian's chromium
// playing it in an <audio> element, and bad links refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { watchAmi, type AmiWatch, type TimedEvent } from '../support/ami-events.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent } from '../support/sipp.js';
import { historyDoc, seededCluster } from '../support/history.js';
import { hangupAllChannels, phoneUp, waitChannelsGone } from '../support/harness.js';
import { rootDir } from '../harness/paths.js';
import { writePcmuPcap, tonePower } from '../support/pcmu-pcap.js';
import { launchChromium } from '../support/browser.js';
import { parseWavHeader } from '../../src/recordings/wav.js';
import { LinkSigner } from '../../src/recordings/signer.js';
import { Client } from '@elastic/elasticsearch';
import { spawn } from 'node:child_process';

const prefix = `it-recordings-${Date.now()}`;
const token = 'recordings-test-token-0123456789';
// The router's view of the chroot's /var/spool/asterisk/recordings (the dialplan's RECORDINGS_DIR).
const recDir = join(rootDir, 'var/spool/asterisk/recordings');
const audio = mkdtempSync(join(tmpdir(), 'sticky-audio-'));
let cluster: Awaited<ReturnType<typeof seededCluster>>;
let router: RouterProcess;
let ami: AmiWatch;

interface Found {
  uniqueid: string;
  linkedid?: string;
  number?: string;
  agent?: string;
  started_at: string;
  duration_s: number;
  bytes: number;
  url: string;
  expires_at: string;
}

const routerEnv = (routes: string) => ({
  ES_NODE: cluster.node,
  ES_INDEX_PREFIX: prefix,
  AGENT_RING_TIMEOUT: 'PT6S',
  ROUTES_FILE: routes,
  RECORDINGS: 'on',
  RECORDINGS_DIR: recDir,
  RECORDINGS_TOKEN: token,
  RECORDING_LINK_TTL: 'PT20S',
});
let routesFile = '';

before(async () => {
  await hangupAllChannels();
  cluster = await seededCluster(prefix, [historyDoc('+12025550140', '1002', DateTime.utc().minus({ minutes: 10 }))]);
  ami = await watchAmi();
  writePcmuPcap(join(audio, 'caller-audio.pcap'), { seconds: 30, hz: 440 });
  writePcmuPcap(join(audio, 'agent-audio.pcap'), { seconds: 30, hz: 1000, ssrc: 0xa9e47001 });
  routesFile = join(audio, 'routes.json');
  writeFileSync(routesFile, JSON.stringify({ dids: { '410': { record: false } } }));
  router = await startRouter(routerEnv(routesFile));
});

after(async () => {
  await router?.stop();
  await ami?.stop();
  await cluster?.clean(prefix);
  await cluster?.close();
  rmSync(audio, { recursive: true, force: true });
});

const api = (path: string, auth = `Bearer ${token}`) => fetch(`${httpUrl()}${path}`, { headers: { authorization: auth }, redirect: 'manual' });
function httpUrl(): string {
  const l = router.lines.find((x) => x.msg === 'http listening') as { port: number } | undefined;
  assert.ok(l, 'router logged its HTTP port');
  return `http://127.0.0.1:${l.port}`;
}

async function searchUntil(query: string, pred: (r: Found[]) => boolean, timeoutMs = 15_000): Promise<Found[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api(`/v1/recordings?${query}`);
    assert.equal(res.status, 200, `search ${query}: ${res.status}`);
    const { recordings } = (await res.json()) as { recordings: Found[] };
    if (pred(recordings)) return recordings;
    if (Date.now() > deadline) throw new Error(`search ${query} never matched; last answer ${JSON.stringify(recordings)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The caller's talk time on AMI: its BridgeEnter to its BridgeLeave, from Asterisk's own timestamps. */
async function talkSeconds(uniqueid: string): Promise<number> {
  const enter = await ami.waitFor((e) => e.Event === 'BridgeEnter' && e.Uniqueid === uniqueid, 10_000, 'caller BridgeEnter');
  const leave = await ami.waitFor((e) => e.Event === 'BridgeLeave' && e.Uniqueid === uniqueid, 20_000, 'caller BridgeLeave');
  const ts = (e: TimedEvent) => (e.Timestamp ? Number(e.Timestamp) * 1000 : ami.at(e));
  return (ts(leave) - ts(enter)) / 1000;
}

function wavOf(path: string) {
  const buf = readFileSync(path);
  const info = parseWavHeader(buf);
  const audioBytes = buf.subarray(info.dataOffset);
  const samples = new Int16Array(audioBytes.buffer, audioBytes.byteOffset, Math.floor(audioBytes.length / 2));
  return { buf, info, seconds: audioBytes.length / info.byteRate, samples };
}

let sticky: Found | undefined;
let stickyFile = '';

test('a sticky call is recorded from the agent\'s answer, both legs mixed, into RECORDINGS_DIR/YYYY/MM/DD/<uniqueid>.wav', async (t) => {
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 800, audioDir: audio }));
  let uniqueid = '';
  try {
    const result = await call('100', '+12025550140', { talkMs: 4000, audioDir: audio });
    assert.equal(result.exitCode, 0, result.errors);
    const dial = await ami.waitFor((e) => e.Event === 'DialBegin' && e.CallerIDNum === '+12025550140' && e.Context === 'sticky-ring', 5000, 'sticky DialBegin');
    uniqueid = dial.Uniqueid!;
    const talked = await talkSeconds(uniqueid);

    const day = DateTime.utc().toFormat('yyyy/MM/dd');
    stickyFile = join(recDir, day, `${uniqueid}.wav`);
    const found = await searchUntil('number=%2B12025550140', (r) => r.some((x) => x.uniqueid === uniqueid));
    assert.ok(existsSync(stickyFile), `${stickyFile} exists`);
    const wav = wavOf(stickyFile);
    assert.equal(wav.info.format, 1, 'PCM');
    assert.equal(wav.info.channels, 1, 'one mixed channel');
    assert.equal(wav.info.sampleRate, 8000);
    assert.ok(Math.abs(wav.seconds - talked) <= 0.5, `WAV lasts ${wav.seconds.toFixed(2)} s, the call talked ${talked.toFixed(2)} s`);
    // Both directions are in the one file: the caller's 440 Hz and the agent's 1000 Hz, well above a control tone.
    const p440 = tonePower(wav.samples, 8000, 440);
    const p1000 = tonePower(wav.samples, 8000, 1000);
    const control = tonePower(wav.samples, 8000, 2500);
    assert.ok(p440 > 100 * control, `caller's tone in the mix (440 Hz ${p440.toExponential(2)} vs 2500 Hz ${control.toExponential(2)})`);
    assert.ok(p1000 > 100 * control, `agent's tone in the mix (1000 Hz ${p1000.toExponential(2)} vs 2500 Hz ${control.toExponential(2)})`);
    t.diagnostic(`sticky: WAV ${wav.seconds.toFixed(3)} s, bridged ${talked.toFixed(3)} s; tone power 440 Hz ${p440.toExponential(2)}, 1000 Hz ${p1000.toExponential(2)}, 2500 Hz ${control.toExponential(2)}`);

    sticky = found.find((x) => x.uniqueid === uniqueid)!;
    assert.equal(sticky.number, '+12025550140');
    assert.equal(sticky.agent, '1002');
    assert.equal(sticky.bytes, wav.buf.length);
    assert.ok(Math.abs(sticky.duration_s - wav.seconds) < 0.05, `CDR duration_s ${sticky.duration_s} = the file's ${wav.seconds}`);
    assert.match(sticky.url, new RegExp(`^${httpUrl()}/media/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
    const ttl = DateTime.fromISO(sticky.expires_at).diffNow().as('seconds');
    assert.ok(ttl > 10 && ttl <= 20, `expires in ${ttl} s (RECORDING_LINK_TTL=PT20S)`);

    // The CDR document in Elasticsearch carries the recording fields.
    const es = new Client({ node: cluster.node });
    const docs = await es.search<{ recording?: { file: string; duration_s: number; bytes: number } }>({ index: `${prefix}-*`, query: { term: { 'asterisk.uniqueid': uniqueid } } });
    await es.close();
    const withRec = docs.hits.hits.map((h) => h._source?.recording).filter(Boolean);
    assert.ok(withRec.length >= 1, 'a CDR of the call has recording.*');
    assert.equal(withRec[0]!.file, `${day}/${uniqueid}.wav`);
  } finally {
    await agent.stop();
    await waitChannelsGone();
  }
});

test('the signed link serves the WAV whole (audio/wav, Content-Length, Accept-Ranges) and by Range (206)', async () => {
  assert.ok(sticky, 'the sticky call was recorded');
  const [fresh] = await searchUntil(`uniqueid=${sticky.uniqueid}`, (r) => r.length === 1);
  const whole = await fetch(fresh!.url);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-type'), 'audio/wav');
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  const file = readFileSync(stickyFile);
  assert.equal(whole.headers.get('content-length'), String(file.length));
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(file), 'the bytes of the file');

  const part = await fetch(fresh!.url, { headers: { range: 'bytes=100-1099' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 100-1099/${file.length}`);
  assert.equal(part.headers.get('content-length'), '1000');
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(file.subarray(100, 1100)));

  const tail = await fetch(fresh!.url, { headers: { range: 'bytes=-44' } });
  assert.equal(tail.status, 206);
  assert.ok(Buffer.from(await tail.arrayBuffer()).equals(file.subarray(file.length - 44)));
  const beyond = await fetch(fresh!.url, { headers: { range: `bytes=${file.length}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${file.length}`);
});

test('headless chromium plays the link in an <audio> element and reads a finite duration', async (t) => {
  assert.ok(sticky, 'the sticky call was recorded');
  const [fresh] = await searchUntil(`uniqueid=${sticky.uniqueid}`, (r) => r.length === 1);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // A page of ours (served by the router's origin would need a route; a data: page is a foreign origin, as Kibana is).
    await page.setContent(`<!doctype html><audio id="a" preload="metadata" src="${fresh!.url}"></audio>`);
    // A string, not a function: tsx's transform would add helpers the page does not have.
    const duration = await page.evaluate<number>(`new Promise((resolve, reject) => {
      const a = document.getElementById('a');
      const done = () => { if (Number.isFinite(a.duration)) resolve(a.duration); };
      a.addEventListener('loadedmetadata', done);
      a.addEventListener('durationchange', done);
      a.addEventListener('error', () => reject(new Error('media error ' + (a.error && a.error.code) + ': ' + (a.error && a.error.message))));
      if (a.readyState >= 1) done();
      setTimeout(() => reject(new Error('no duration after 15 s (readyState ' + a.readyState + ')')), 15000);
    })`);
    assert.ok(Number.isFinite(duration), `finite duration ${duration}`);
    t.diagnostic(`chromium <audio>.duration ${duration} s; CDR duration_s ${sticky.duration_s}`);
    assert.ok(Math.abs(duration - sticky.duration_s) < 0.1, `chromium reads ${duration.toFixed(2)} s, the CDR says ${sticky.duration_s} s`);
  } finally {
    await browser.close();
  }
});

test('tampered, foreign, traversal and expired links are refused with 403, and logged without the token', async () => {
  assert.ok(sticky, 'the sticky call was recorded');
  const [fresh] = await searchUntil(`uniqueid=${sticky.uniqueid}`, (r) => r.length === 1);
  const tokenOf = (url: string) => url.slice(url.lastIndexOf('/media/') + '/media/'.length);
  const t = tokenOf(fresh!.url);
  const [payload, mac] = t.split('.') as [string, string];
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const media = (tok: string) => fetch(`${httpUrl()}/media/${tok}`);

  // Another file named in the payload, the signature kept.
  const otherPayload = Buffer.from(JSON.stringify({ v: 1, f: '../../../../etc/passwd', e: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
  const foreign = new LinkSigner('a-secret-of-another-instance-0123456789').sign(sticky.url ? `${DateTime.utc().toFormat('yyyy/MM/dd')}/${sticky.uniqueid}.wav` : '', DateTime.utc().plus({ minutes: 5 }));
  const cases: [string, string][] = [
    ['signature changed', `${payload}.${flip(mac, 5)}`],
    ['payload changed', `${flip(payload, 3)}.${mac}`],
    ['traversal payload with the old signature', `${otherPayload}.${mac}`],
    ['signed with another secret', foreign],
    ['path traversal instead of a token', '..%2F..%2F..%2Fetc%2Fpasswd'],
    ['encoded dots', '%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
    ['truncated', t.slice(0, -1)],
  ];
  for (const [what, tok] of cases) {
    const res = await media(tok);
    assert.equal(res.status, 403, what);
    assert.doesNotMatch(await res.text(), /root:|RIFF/, `${what}: nothing served`);
  }
  const raw = await fetch(`${httpUrl()}/media/../../../../etc/passwd`);
  assert.notEqual(raw.status, 200, 'a raw ../ path');

  // The log line reaches us through the router's stdout pipe, after its HTTP answer: wait for the last one.
  const refused = (l: Record<string, unknown>) => l.msg === 'media link refused';
  await router.waitForLog(() => router.lines.filter(refused).length >= cases.length, 5000, 'a log line per refusal').catch(() => undefined);
  const refusals = router.lines.filter(refused);
  assert.ok(refusals.length >= cases.length, `each refusal logged (${refusals.length})`);
  const logText = JSON.stringify(refusals);
  assert.ok(!logText.includes(mac) && !logText.includes(payload), 'the token is not in the log');
  assert.ok(refusals.some((l) => l.why === 'bad_signature') && refusals.some((l) => l.why === 'malformed'));

  // The stable play endpoint: only recordings of the dialplan's shape, never through a symlink out.
  const day = DateTime.utc().toFormat('yyyy/MM/dd');
  mkdirSync(join(recDir, day), { recursive: true });
  const evil = join(recDir, day, '1700000000.666.wav');
  rmSync(evil, { force: true });
  symlinkSync('/etc/passwd', evil);
  try {
    for (const file of [`${day}/1700000000.666.wav`, '../../etc/passwd', `${day}/../../../../etc/passwd`, encodeURIComponent('..%2f..%2fetc%2fpasswd'), '/etc/passwd']) {
      const res = await api(`/v1/recordings/play?file=${encodeURIComponent(file)}`);
      assert.ok(res.status === 400 || res.status === 404, `play ${file}: ${res.status}`);
      assert.equal(res.headers.get('location'), null, `play ${file}: no redirect`);
    }
  } finally {
    rmSync(evil, { force: true });
  }

  // Expired: RECORDING_LINK_TTL=PT20S.
  const wait = DateTime.fromISO(fresh!.expires_at).diffNow().toMillis() + 1200;
  await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  const expired = await fetch(fresh!.url);
  assert.equal(expired.status, 403);
  assert.match(await expired.text(), /expired/);
  await router.waitForLog((l) => l.msg === 'media link refused' && l.why === 'expired', 5000, 'the expired refusal logged');
});

test('the Kibana link: /v1/recordings/play checks access (bearer or Basic) and redirects to a fresh signed link', async () => {
  assert.ok(sticky, 'the sticky call was recorded');
  const file = `${DateTime.utc().toFormat('yyyy/MM/dd')}/${sticky.uniqueid}.wav`;
  const noAuth = await fetch(`${httpUrl()}/v1/recordings/play?file=${encodeURIComponent(file)}`, { redirect: 'manual' });
  assert.equal(noAuth.status, 401);
  assert.match(noAuth.headers.get('www-authenticate') ?? '', /^Basic /, 'a browser is asked for the password');
  const wrong = await api(`/v1/recordings/play?file=${encodeURIComponent(file)}`, `Basic ${Buffer.from('supervisor:wrong-password-123456').toString('base64')}`);
  assert.equal(wrong.status, 401);
  const res = await api(`/v1/recordings/play?file=${encodeURIComponent(file)}`, `Basic ${Buffer.from(`supervisor:${token}`).toString('base64')}`);
  assert.equal(res.status, 302);
  const location = res.headers.get('location')!;
  assert.match(location, /\/media\//);
  const media = await fetch(location);
  assert.equal(media.status, 200);
  assert.equal(media.headers.get('content-type'), 'audio/wav');
  await media.arrayBuffer();
  // The search needs the token too.
  assert.equal((await fetch(`${httpUrl()}/v1/recordings?number=%2B12025550140`)).status, 401);
});

test('the CLI: `sticky-router recordings <number> [--json]` asks the running router and prints its links', async () => {
  assert.ok(sticky, 'the sticky call was recorded');
  const port = new URL(httpUrl()).port;
  // Asynchronous: the Elasticsearch double answers from this process's event loop.
  const cli = (args: string[], env: Record<string, string>) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', '..', 'src/cli/main.ts'), 'recordings', ...args], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, HTTP_PORT: port, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      p.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
  const json = await cli(['+12025550140', '--json'], { RECORDINGS_TOKEN: token });
  assert.equal(json.status, 0, json.stderr);
  const answer = JSON.parse(json.stdout) as { recordings: Found[] };
  const mine = answer.recordings.find((r) => r.uniqueid === sticky!.uniqueid);
  assert.ok(mine, 'the call is listed');
  assert.equal((await fetch(mine.url, { method: 'HEAD' })).status, 200, 'its link plays');
  const human = await cli(['+12025550140'], { RECORDINGS_TOKEN: token });
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`\\+12025550140 +agent 1002 .* s  ${sticky.uniqueid.replace('.', '\\.')}\\n  http://127\\.0\\.0\\.1:${port}/media/`));
  const denied = await cli(['+12025550140'], { RECORDINGS_TOKEN: 'not-the-token-0123456789' });
  assert.equal(denied.status, 2, 'a wrong token exits 2');
  assert.match(denied.stderr, /401/);
  const bad = await cli(['not-a-number'], { RECORDINGS_TOKEN: token });
  assert.equal(bad.status, 64);
  assert.match(bad.stderr, /not a phone number/);
});

test('a queue call (no history) is recorded from the queue\'s connect; a DID with "record": false is not', async (t) => {
  const agent = await phoneUp('1001', () => startAgent('1001', { ringMs: 300, audioDir: audio }));
  try {
    const result = await call('100', '+12025550150', { talkMs: 3000, audioDir: audio });
    assert.equal(result.exitCode, 0, result.errors);
    const join1 = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === '+12025550150', 10_000, 'queue join');
    const uid = join1.Uniqueid!;
    const talked = await talkSeconds(uid);
    const [found] = await searchUntil('number=%2B12025550150', (r) => r.length === 1);
    assert.equal(found!.uniqueid, uid);
    assert.equal(found!.agent, '1001');
    const wav = wavOf(join(recDir, DateTime.utc().toFormat('yyyy/MM/dd'), `${uid}.wav`));
    t.diagnostic(`queue: WAV ${wav.seconds.toFixed(3)} s, bridged ${talked.toFixed(3)} s`);
    assert.ok(Math.abs(wav.seconds - talked) <= 0.5, `queue call WAV ${wav.seconds.toFixed(2)} s vs talk ${talked.toFixed(2)} s`);
    assert.ok(tonePower(wav.samples, 8000, 440) > 100 * tonePower(wav.samples, 8000, 2500), "caller's tone");
    assert.ok(tonePower(wav.samples, 8000, 1000) > 100 * tonePower(wav.samples, 8000, 2500), "agent's tone");

    // DID 410 has "record": false in ROUTES_FILE.
    const r2 = await call('410', '+12025550160', { talkMs: 2000, audioDir: audio });
    assert.equal(r2.exitCode, 0, r2.errors);
    const join2 = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === '+12025550160', 10_000, 'queue join 410');
    await talkSeconds(join2.Uniqueid!);
    await ami.waitFor((e) => e.Event === 'Cdr' && e.UniqueID === join2.Uniqueid, 10_000, 'Cdr of the 410 call');
    await new Promise((r) => setTimeout(r, 1500)); // shipped and searchable, had it been recorded
    assert.equal(existsSync(join(recDir, DateTime.utc().toFormat('yyyy/MM/dd'), `${join2.Uniqueid}.wav`)), false, 'no file for DID 410');
    const none = await api('/v1/recordings?number=%2B12025550160');
    assert.deepEqual(((await none.json()) as { recordings: unknown[] }).recordings, []);
  } finally {
    await agent.stop();
    await waitChannelsGone();
  }
});

test('links from a previous run are refused after a restart (random link secret per start)', async () => {
  assert.ok(sticky, 'the sticky call was recorded');
  const [fresh] = await searchUntil(`uniqueid=${sticky.uniqueid}`, (r) => r.length === 1);
  assert.equal((await fetch(fresh!.url, { method: 'HEAD' })).status, 200);
  await router.stop();
  router = await startRouter({ ...routerEnv(routesFile), DATA_DIR: router.dataDir });
  const stale = fresh!.url.replace(/^http:\/\/127\.0\.0\.1:\d+/, httpUrl());
  const res = await fetch(stale);
  assert.equal(res.status, 403, 'the old link');
  const [again] = await searchUntil(`uniqueid=${sticky.uniqueid}`, (r) => r.length === 1);
  assert.equal((await fetch(again!.url, { method: 'HEAD' })).status, 200, 'a new link works');
});
