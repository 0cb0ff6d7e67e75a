// The recordings' security edge without a PBX: link signing and checking, the
// store's path rules (traversal, encodings, symlinks), byte ranges, WAV headers,
// access checks, the configuration and the dialplan hand-off flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { LinkSigner } from '../../src/recordings/signer.js';
import { isRecordingPath, RecordingStore } from '../../src/recordings/store.js';
import { parseRange } from '../../src/http/routes/media.js';
import { parseWavHeader, wavFileMeta } from '../../src/recordings/wav.js';
import { checkRecordingsAccess } from '../../src/http/auth.js';
import { loadRecordingsConfig } from '../../src/recordings/config.js';
import { dialplanTarget } from '../../src/ari/handoff.js';
import { DidPolicies } from '../../src/routing/did-policy.js';
import { parseRecordingQuery } from '../../src/http/routes/recordings.js';
import { attachRecording } from '../../src/recordings/attach.js';
import type { CdrDocument } from '../../src/cdr/schema.js';

const now = DateTime.fromISO('2026-12-01T10:00:00Z', { zone: 'utc' });
const file = '2026/12/01/1764583200.17.wav';

test('a signed link verifies until its expiry, then says expired', () => {
  const s = new LinkSigner('a-fixed-secret-for-this-test-0123456789');
  const t = s.sign(file, now.plus({ minutes: 15 }));
  assert.deepEqual(s.verify(t, now), { ok: true, file, expiresAt: Math.floor(now.plus({ minutes: 15 }).toSeconds()) });
  assert.deepEqual(s.verify(t, now.plus({ minutes: 14, seconds: 59 })).ok, true);
  assert.deepEqual(s.verify(t, now.plus({ minutes: 15 })), { ok: false, why: 'expired' });
});

test('any changed character, a foreign secret or a random secret of another start is a bad signature', () => {
  const s = new LinkSigner('a-fixed-secret-for-this-test-0123456789');
  const t = s.sign(file, now.plus({ minutes: 15 }));
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '.') continue;
    const c = t[i] === 'A' ? 'B' : 'A';
    const bad = t.slice(0, i) + c + t.slice(i + 1);
    const r = s.verify(bad, now);
    assert.equal(r.ok, false, `character ${i} changed`);
  }
  assert.deepEqual(new LinkSigner('another-instance-secret-0123456789ab').verify(t, now), { ok: false, why: 'bad_signature' });
  const r1 = new LinkSigner();
  const r2 = new LinkSigner();
  assert.deepEqual(r2.verify(r1.sign(file, now.plus({ minutes: 1 })), now), { ok: false, why: 'bad_signature' }, 'random secrets differ per start');
  // Longer expiry or another file in the payload, the old MAC kept.
  const [, mac] = t.split('.');
  const forged = Buffer.from(JSON.stringify({ v: 1, f: '../../etc/passwd', e: 9_999_999_999 })).toString('base64url');
  assert.deepEqual(s.verify(`${forged}.${mac}`, now), { ok: false, why: 'bad_signature' });
  for (const junk of ['', '.', 'abc', `${t}.x`, '../../etc/passwd', '%2e%2e%2fetc', 'a'.repeat(5000) + '.' + 'b'.repeat(43)]) assert.equal(s.verify(junk, now).ok, false, junk.slice(0, 20));
});

test('the store accepts only the dialplan\'s path shape', () => {
  for (const ok of [file, '2026/01/31/1700000000.1.wav', '2026/12/01/abc-DEF_1.2.wav']) assert.ok(isRecordingPath(ok), ok);
  for (const bad of [
    '../2026/12/01/x.wav', '2026/12/01/../../../etc/passwd', '/etc/passwd', '2026/12/01/x.mp3', '2026/13/01/x.wav', '2026/12/01/.x.wav',
    '2026/12/01/x..wav', '2026%2F12%2F01%2Fx.wav', '2026/12/01/%2e%2e.wav', '2026\\12\\01\\x.wav', '2026/12/01/x.wav\0', '2026/12/01/sub/x.wav', '',
  ]) assert.equal(isRecordingPath(bad), false, JSON.stringify(bad));
});

test('the store never opens a file outside RECORDINGS_DIR, not through a symlinked file or directory', async () => {
  const base = mkdtempSync(join(tmpdir(), 'sticky-store-'));
  const dir = join(base, 'recordings');
  mkdirSync(join(dir, '2026/12/01'), { recursive: true });
  writeFileSync(join(base, 'secret.wav'), 'RIFF secret');
  writeFileSync(join(dir, file), 'RIFF real');
  symlinkSync(join(base, 'secret.wav'), join(dir, '2026/12/01/1.wav'));
  mkdirSync(join(base, 'elsewhere/01'), { recursive: true });
  writeFileSync(join(base, 'elsewhere/01/2.wav'), 'RIFF elsewhere');
  symlinkSync(join(base, 'elsewhere'), join(dir, '2026/11'));
  // A symlink that stays inside is fine (e.g. an admin moved a day).
  symlinkSync(join(dir, file), join(dir, '2026/12/01/3.wav'));
  const store = new RecordingStore(dir);

  const real = await store.open(file);
  assert.ok(real.ok);
  await real.handle.close();
  assert.deepEqual(await store.open('2026/12/01/1.wav'), { ok: false, why: 'outside_dir' });
  assert.deepEqual(await store.open('2026/11/01/2.wav'), { ok: false, why: 'outside_dir' });
  assert.deepEqual(await store.open('2026/12/01/../../../secret.wav'), { ok: false, why: 'unsafe_path' });
  assert.deepEqual(await store.open('2026/12/01/9.wav'), { ok: false, why: 'missing' });
  const inside = await store.open('2026/12/01/3.wav');
  assert.ok(inside.ok);
  await inside.handle.close();
  assert.equal(store.resolveSync('2026/12/01/1.wav'), undefined);
  assert.equal(await store.exists('2026/11/01/2.wav'), false);
  // RECORDINGS_DIR itself may be a symlink (a mount point, /var/spool → /data).
  symlinkSync(dir, join(base, 'link-to-recordings'));
  const viaLink = await new RecordingStore(join(base, 'link-to-recordings')).open(file);
  assert.ok(viaLink.ok);
  await viaLink.handle.close();
});

test('byte ranges: a single range, an open end, a suffix; unsatisfiable; anything else serves the whole file', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
  assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { start: 0, end: 999 });
  assert.deepEqual(parseRange('bytes=500-5000', 1000), { start: 500, end: 999 });
  assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
  assert.equal(parseRange('bytes=-0', 1000), 'unsatisfiable');
  for (const whole of [undefined, '', 'bytes=0-1,5-9', 'items=0-1', 'bytes=9-3', 'bytes=-', 'bytes=a-b']) assert.equal(parseRange(whole, 1000), undefined, String(whole));
});

function wav(seconds: number): Buffer {
  const data = Buffer.alloc(Math.round(seconds * 16000));
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

test('WAV header: format, rate and duration from the size (MixMonitor fills the sizes only at close)', () => {
  const buf = wav(2.5);
  const info = parseWavHeader(buf);
  assert.deepEqual([info.format, info.channels, info.sampleRate, info.byteRate, info.dataOffset], [1, 1, 8000, 16000, 44]);
  const dir = mkdtempSync(join(tmpdir(), 'sticky-wav-'));
  const open = Buffer.from(buf);
  open.writeUInt32LE(0, 40); // still being written
  writeFileSync(join(dir, 'a.wav'), open);
  assert.deepEqual(wavFileMeta(join(dir, 'a.wav'), open.length), { bytes: open.length, duration_s: 2.5 });
  assert.throws(() => parseWavHeader(Buffer.from('ID3 not a wav file at all')), /not a RIFF\/WAVE/);
});

test('attach: a CDR gets its recording only when the named file is a WAV inside RECORDINGS_DIR', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-attach-'));
  mkdirSync(join(dir, '2026/12/01'), { recursive: true });
  writeFileSync(join(dir, file), wav(3));
  writeFileSync(join(dir, '2026/12/01/bad.wav'), 'not audio');
  const store = new RecordingStore(dir);
  const doc = () => ({ id: 'x', asterisk: { uniqueid: '1764583200.17' } }) as unknown as CdrDocument;
  const d1 = doc();
  attachRecording(d1, { Recording: file }, store);
  assert.deepEqual(d1.recording, { file, bytes: 48044, duration_s: 3 });
  for (const rel of ['', '2026/12/01/missing.wav', '../../etc/passwd', '2026/12/01/bad.wav']) {
    const d = doc();
    attachRecording(d, { Recording: rel }, store);
    assert.equal(d.recording, undefined, rel);
  }
});

test('recordings access: bearer, or Basic with the token as password; the browser challenge is Basic', () => {
  const tokens = ['recordings-token-0123456789', 'http-token-0123456789abc'];
  assert.equal(checkRecordingsAccess({ authorization: `Bearer ${tokens[0]}` }, tokens, false), undefined);
  assert.equal(checkRecordingsAccess({ authorization: `Bearer ${tokens[1]}` }, tokens, false), undefined);
  assert.equal(checkRecordingsAccess({ authorization: `Basic ${Buffer.from(`anne:${tokens[0]}`).toString('base64')}` }, tokens, true), undefined);
  const none = checkRecordingsAccess({}, tokens, true)!;
  assert.equal(none.status, 401);
  assert.match(none.headers!['www-authenticate']!, /^Basic realm=/);
  assert.equal(checkRecordingsAccess({ authorization: 'Bearer wrong-token-0123456789' }, tokens, false)!.status, 401);
  assert.equal(checkRecordingsAccess({ authorization: `Basic ${Buffer.from(tokens[0]!).toString('base64')}` }, tokens, true)!.status, 401, 'no user:password shape');
});

test('config: RECORDINGS=on needs a token; TTL defaults to PT15M; bad values name the variable', () => {
  assert.throws(() => loadRecordingsConfig({ RECORDINGS: 'on' }), /RECORDINGS_TOKEN or HTTP_TOKEN/);
  const c = loadRecordingsConfig({ RECORDINGS: 'on', HTTP_TOKEN: 'x'.repeat(16), PUBLIC_URL: 'https://pbx.example.com/rec/' });
  assert.equal(c.RECORDING_LINK_TTL, 15 * 60_000);
  assert.equal(c.PUBLIC_URL, 'https://pbx.example.com/rec');
  assert.equal(c.RECORDINGS_RETENTION, undefined);
  assert.equal(loadRecordingsConfig({}).RECORDINGS, 'off');
  assert.throws(() => loadRecordingsConfig({ RECORDINGS: 'yes' }), /config: RECORDINGS="yes" is invalid: expected on or off/);
  assert.throws(() => loadRecordingsConfig({ RECORDINGS_LINK_SECRET: 'short' }), /RECORDINGS_LINK_SECRET=<redacted> is invalid: expected a secret of at least 32/);
  assert.throws(() => loadRecordingsConfig({ RECORDING_LINK_TTL: '15m' }), /RECORDING_LINK_TTL="15m" is invalid/);
  assert.throws(() => loadRecordingsConfig({ RECORDINGS_RETENTION: 'P0D' }), /RECORDINGS_RETENTION/);
  assert.throws(() => loadRecordingsConfig({ PUBLIC_URL: 'ftp://x' }), /PUBLIC_URL/);
});

test('hand-off: the record flag rides in the continue extension; ROUTES_FILE "record" per DID', () => {
  const policies = DidPolicies.fromConfig({ STICKY_WINDOW: 1800_000, AGENT_RING_TIMEOUT: 20_000, FALLBACK_CONTEXT: 'ivr', FALLBACK_EXTENSION: 's' }, { dids: { '410': { record: false }, '420': { record: true } } });
  assert.equal(policies.for('410').record, false);
  assert.equal(policies.for('420').record, true);
  assert.equal(policies.for('100').record, undefined);
  assert.throws(() => DidPolicies.fromConfig({ STICKY_WINDOW: 1, AGENT_RING_TIMEOUT: 1, FALLBACK_CONTEXT: 'ivr', FALLBACK_EXTENSION: 's' }, { dids: { '1': { record: 'yes' } } } as never), /ROUTES_FILE: dids.1.record/);
  const fb = policies.for('100').fallback;
  assert.equal(dialplanTarget({ action: 'ring', reason: 'sticky_agent', agent: '1002', ringTimeoutMs: 20_000, fallback: fb }, true).extension, '1002~20~ivr~s~on');
  assert.equal(dialplanTarget({ action: 'fallback', reason: 'no_history', fallback: fb }, false).extension, 'no_history~ivr~s~off');
});

test('search query: numbers normalised, times parsed, unknown or empty queries refused', () => {
  const q = parseRecordingQuery(new URLSearchParams('number=%2B12025550140&from=2026-12-01T00:00:00Z&agent=1002&limit=5'));
  assert.ok(!('status' in q));
  assert.equal(q.number, '+12025550140');
  assert.equal(q.from?.toISO(), '2026-12-01T00:00:00.000Z');
  assert.equal(q.limit, 5);
  const national = parseRecordingQuery(new URLSearchParams('number=0441234567'), 'UA');
  assert.ok(!('status' in national) && national.number === '+380441234567');
  for (const bad of ['number=hello', 'from=yesterday', 'limit=0', 'agent=1002;drop', 'uniqueid=../x', 'bogus=1', '']) {
    const r = parseRecordingQuery(new URLSearchParams(bad));
    assert.ok('status' in r && r.status === 400, bad);
  }
});
