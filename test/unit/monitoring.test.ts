// Monitoring webhooks (issue 15) without a PBX: the signature and its rotation,
// the MONITOR_FILE loader, the outbox's retries, restart and once-per-outage alert,
// and the routing_api reporting of notifier deliveries. The harness test
// (test/integration/voice-quality.test.ts) covers real calls, HMAC and mTLS receivers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signedHeaders, verifySignature } from '../../src/monitoring/signature.js';
import { loadMonitorConfig } from '../../src/monitoring/config.js';
import { MonitorOutbox, type DeliveryTarget } from '../../src/monitoring/outbox.js';
import { HttpTarget } from '../../src/monitoring/http-target.js';
import { thresholdBreaches, voiceQualityEvent, esOperation } from '../../src/monitoring/events.js';
import { Monitoring } from '../../src/monitoring/monitor.js';
import { DeliveryError } from '../../src/abandon/notifiers/types.js';
import { loadNotifyConfig } from '../../src/abandon/notify-config.js';
import { ConfigError } from '../../src/config.js';
import { captureLog, freePort, sampleNotification, startReceiver, tempDir, waitUntil } from './notify-helpers.js';
import type { CdrDocument } from '../../src/cdr/schema.js';

const URL_ = 'https://mon.example.com/vq';
const body = '{"type":"voice_quality","id":"vq-1"}';

test('signature: every active key signs; a receiver holding any one of them verifies; URL, body and time are covered', () => {
  const now = Date.UTC(2026, 11, 1, 12);
  const h = signedHeaders('acme', [{ version: '2', secret: 'new-secret-0123456789' }, { version: '1', secret: 'old-secret-0123456789' }], URL_, body, now);
  assert.equal(h['x-sticky-key-version'], '2');
  assert.equal(h['x-sticky-consumer-id'], 'acme');
  assert.match(h['x-sticky-signature']!, /^v2=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
  assert.deepEqual(verifySignature(h, URL_, body, { '1': 'old-secret-0123456789' }, { nowMs: now }), { ok: true, version: '1' });
  assert.deepEqual(verifySignature(h, URL_, body, { '2': 'new-secret-0123456789' }, { nowMs: now }), { ok: true, version: '2' });
  assert.equal(verifySignature(h, URL_, body + ' ', { '2': 'new-secret-0123456789' }, { nowMs: now }).ok, false, 'body changed');
  assert.equal(verifySignature(h, 'https://evil.example.com/vq', body, { '2': 'new-secret-0123456789' }, { nowMs: now }).ok, false, 'URL changed');
  assert.equal(verifySignature(h, URL_, body, { '2': 'new-secret-0123456789' }, { nowMs: now + 600_000 }).ok, false, 'replayed 10 min later');
  assert.equal(verifySignature(h, URL_, body, { '3': 'other-secret-0123456789' }, { nowMs: now }).ok, false, 'a key version the sender does not have');
  // After retiring v1 the sender signs with v2 only: a receiver still on v1 refuses.
  const retired = signedHeaders('acme', [{ version: '2', secret: 'new-secret-0123456789' }], URL_, body, now);
  assert.equal(verifySignature(retired, URL_, body, { '1': 'old-secret-0123456789' }, { nowMs: now }).ok, false);
});

test('MONITOR_FILE: subscriptions, secrets from files, thresholds; bad files fail with one line each and never echo a secret', (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const file = join(tmp.dir, 'monitor.json');
  writeFileSync(join(tmp.dir, 'v2.key'), 'secret-from-a-file-0123456789\n');
  writeFileSync(
    file,
    JSON.stringify({
      subscriptions: [{ id: 'vq', type: 'voice_quality', url: URL_, auth: { type: 'hmac', consumer_id: 'acme', keys: [{ version: '2', secret_file: 'v2.key' }, { version: '1', secret: 'inline-secret-0123456789' }] }, contacts: ['noc@example.com'] }],
      thresholds: { '100': { mes_below: 70, loss_above: 3 }, '*': { mes_below: 50 } },
    }),
  );
  const c = loadMonitorConfig({ MONITOR_FILE: file })!;
  assert.equal(c.alertAfterMs, 15 * 60_000, 'MONITOR_ALERT_AFTER defaults to PT15M');
  assert.deepEqual(c.subscriptions[0]!.auth, { type: 'hmac', consumerId: 'acme', keys: [{ version: '2', secret: 'secret-from-a-file-0123456789' }, { version: '1', secret: 'inline-secret-0123456789' }] });
  assert.deepEqual(c.thresholds.get('100'), { mesBelow: 70, lossAbove: 3 });
  assert.equal(loadMonitorConfig({}), undefined, 'off without MONITOR_FILE');
  assert.throws(() => loadMonitorConfig({ MONITOR_FILE: file, MONITOR_ALERT_AFTER: '15 minutes' }), /MONITOR_ALERT_AFTER="15 minutes" is invalid/);
  writeFileSync(file, JSON.stringify({ subscriptions: [{ id: 'x', type: 'voice_quality', url: 'ftp://x', auth: { type: 'hmac', consumer_id: 'a', keys: [{ version: '1', secret: 'short' }] } }] }));
  let err: Error | undefined;
  try {
    loadMonitorConfig({ MONITOR_FILE: file });
  } catch (e) {
    err = e as Error;
  }
  assert.ok(err instanceof ConfigError);
  assert.match(err.message, /subscriptions\.0\.url is invalid: expected an http\(s\) URL/);
  assert.match(err.message, /keys\.0\.secret is invalid: expected a secret of at least 16 characters/);
  assert.doesNotMatch(err.message, /short/);
  writeFileSync(file, JSON.stringify({ subscriptions: [{ id: 'm', type: 'routing_api', url: 'http://x/', auth: { type: 'mtls', cert_file: 'c.pem', key_file: 'k.pem' } }] }));
  assert.throws(() => loadMonitorConfig({ MONITOR_FILE: file }), /cannot read the client certificate "c\.pem": ENOENT/);
  writeFileSync(file, '{ nope');
  assert.throws(() => loadMonitorConfig({ MONITOR_FILE: file }), /expected a readable JSON file/);
});

test('outbox: a receiver that is down gets every event later, once each, with the same idempotency key; a restart resumes; the outage alerts once', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const port = await freePort();
  const outages: string[] = [];
  const make = () =>
    new MonitorOutbox({
      dataDir: tmp.dir,
      targets: [new HttpTarget({ id: 'vq', type: 'voice_quality', url: `http://127.0.0.1:${port}/vq`, auth: { type: 'hmac', consumerId: 'acme', keys: [{ version: '1', secret: 'unit-secret-0123456789' }] }, contacts: [] })],
      log: captureLog().log,
      alertAfterMs: 300,
      onOutage: async (o) => void outages.push(`${o.target}: ${o.lastError}`),
      backoffBaseMs: 30,
      backoffCapMs: 120,
    });
  let ob = make();
  ob.start();
  for (let i = 0; i < 5; i++) ob.enqueue('vq', `vq-${i}`, 'voice_quality', JSON.stringify({ i }));
  assert.equal(ob.enqueue('vq', 'vq-0', 'voice_quality', '{"i":0}'), false, 'the same idempotency key is queued once');
  await waitUntil(() => outages.length === 1, 5000, 'the outage alert');
  await new Promise((r) => setTimeout(r, 500));
  await ob.stop();
  assert.equal(outages.length, 1, 'once per outage, however many retries');
  assert.match(outages[0]!, /^vq: .*ECONNREFUSED/);
  const rx = await startReceiver((_q, res) => res.end('ok'), port);
  t.after(() => rx.close());
  ob = make(); // a restart: the rows and the open outage are on disk
  ob.start();
  await waitUntil(() => rx.requests.length >= 5, 5000, 'the backlog after the restart');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(rx.requests.map((r) => r.headers['idempotency-key']).sort(), ['vq-0', 'vq-1', 'vq-2', 'vq-3', 'vq-4']);
  assert.ok(rx.requests.every((r) => verifySignature(r.headers, `http://127.0.0.1:${port}/vq`, r.body, { '1': 'unit-secret-0123456789' }).ok), 'signed per attempt: fresh timestamps verify');
  assert.deepEqual(ob.counts().vq, { pending: 0, failed: 0, delivered: 5 });
  assert.equal(outages.length, 1, 'the restart did not start a new outage');
  await ob.stop();
});

test('outbox: a permanent rejection (400) is kept as failed and not retried; other targets are not held up', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  let calls = 0;
  const bad: DeliveryTarget = { id: 'bad', send: async () => void (calls++, await Promise.reject(new DeliveryError('HTTP 400 bad payload', true))) };
  const seen: string[] = [];
  const good: DeliveryTarget = { id: 'good', send: async (row) => void seen.push(row.id) };
  const ob = new MonitorOutbox({ dataDir: tmp.dir, targets: [bad, good], log: captureLog().log, alertAfterMs: 60_000, backoffBaseMs: 10, backoffCapMs: 20 });
  ob.start();
  ob.enqueue('bad', 'a', 'routing_api', '{}');
  ob.enqueue('good', 'b', 'routing_api', '{}');
  await waitUntil(() => seen.length === 1 && ob.counts().bad?.failed === 1, 3000, 'both settled');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, 1);
  await ob.stop();
});

const cdr = (over: Partial<CdrDocument> = {}): CdrDocument => ({
  id: 'x',
  '@timestamp': '2026-12-01T11:08:17.000Z',
  direction: 'inbound',
  customer_e164: '+12025550777',
  agent: '1002',
  talk_seconds: 16,
  talked: true,
  sticky_reason: 'sticky_agent',
  did: '100',
  quality: { mes: 47.9, loss_pct: 9.85, caller: { rx: { packets: 540, lost: 59, loss_pct: 9.85 }, tx: { packets: 600 } } },
  asterisk: {
    src: '+12025550777', dst: '100', dcontext: 'sticky-ring', clid: '', channel: 'PJSIP/trunk-1', dstchannel: 'PJSIP/1002-2', lastapp: 'Dial', lastdata: 'PJSIP/1002', start: '', end: '',
    duration: 17, billsec: 16, disposition: 'ANSWERED', amaflags: '', accountcode: '', uniqueid: '1796.1', linkedid: '1796.1', userfield: '',
  },
  ...over,
});

test('voice_quality event and thresholds', () => {
  const ev = voiceQualityEvent(cdr(), ['x'])!;
  assert.equal(ev.id, 'vq-1796.1');
  assert.deepEqual(ev.call, { uniqueid: '1796.1', linkedid: '1796.1', caller: '+12025550777', did: '100', agent: '1002', decision: 'sticky_agent', disposition: 'ANSWERED', talk_seconds: 16, direction: 'inbound' });
  assert.equal(voiceQualityEvent(cdr({ asterisk: { ...cdr().asterisk, lastapp: 'Queue', lastdata: 'support,tb(x)' } }))!.call.queue, 'support');
  assert.equal(voiceQualityEvent(cdr({ quality: undefined })), undefined);
  assert.equal(voiceQualityEvent(cdr({ direction: 'outbound' })), undefined);
  assert.deepEqual(thresholdBreaches(cdr().quality!, { mesBelow: 70, lossAbove: 3 }), ['MES 47.9 below 70', 'packet loss 9.85 % above 3 %']);
  assert.deepEqual(thresholdBreaches(cdr().quality!, { mesBelow: 40, lossAbove: 10 }), []);
  assert.deepEqual(thresholdBreaches(cdr().quality!, undefined), []);
  assert.equal(esOperation('POST', '/cdr-2026.12.01,cdr-2026.11.30/_search'), 'lookup');
  assert.equal(esOperation('POST', '/_bulk'), 'bulk');
  assert.equal(esOperation('HEAD', '/'), 'ping');
});

test('routing_api: each notifier delivery attempt is reported with status and latency; thresholds alert the chat channels', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const api = await startReceiver((_q, res) => res.end('ok'));
  const slack = await startReceiver((_q, res) => res.end('ok'));
  t.after(() => api.close());
  t.after(() => slack.close());
  const m = new Monitoring({
    config: {
      subscriptions: [{ id: 'api', type: 'routing_api', url: `http://127.0.0.1:${api.port}/api`, auth: { type: 'hmac', consumerId: 'acme', keys: [{ version: '1', secret: 'unit-secret-0123456789' }] }, contacts: [] }],
      thresholds: new Map([['100', { lossAbove: 3 }]]),
      alertAfterMs: 60_000,
    },
    notify: loadNotifyConfig({ SLACK_WEBHOOK_URL: `http://127.0.0.1:${slack.port}/services/T/B/X` }),
    dataDir: tmp.dir,
    log: captureLog().log,
  });
  t.after(() => m.stop());
  m.start();
  const failing = m.observeNotifier({ channel: 'webhook', send: () => Promise.reject(new DeliveryError('webhook POST http://x: HTTP 503 busy', false)) });
  const working = m.observeNotifier({ channel: 'slack', send: () => new Promise((r) => setTimeout(r, 20)) });
  await assert.rejects(failing.send(sampleNotification()), /HTTP 503/);
  await working.send(sampleNotification());
  m.onCdr(cdr());
  await waitUntil(() => api.requests.length === 2 && slack.requests.length === 1, 5000, 'two routing_api events and one alert');
  const evs = api.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>).sort((a, b) => String(a.target).localeCompare(String(b.target)));
  assert.equal(evs[0]!.target, 'slack');
  assert.equal(evs[0]!.ok, true);
  assert.ok((evs[0]!.latency_ms as number) >= 15);
  assert.equal(evs[1]!.target, 'webhook');
  assert.equal(evs[1]!.status_code, 503);
  assert.equal(evs[1]!.ok, false);
  assert.match(JSON.parse(slack.requests[0]!.body).text, /Poor call quality: \+12025550777 on 100, agent 1002\*\npacket loss 9\.85 % above 3 %/);
});
