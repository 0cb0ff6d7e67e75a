// The durable outbox: a receiver that is down still gets every notification later,
// a restart resumes where the last run stopped, and one caller's repeated
// abandons fold into one notification plus one follow-up with the count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookNotifier } from '../../src/abandon/notifiers/webhook.js';
import { SlackNotifier } from '../../src/abandon/notifiers/slack.js';
import { Outbox, type OutboxOptions } from '../../src/abandon/outbox.js';
import type { AbandonFields } from '../../src/abandon/record.js';
import { captureLog, freePort, sampleRecord, startReceiver, tempDir, waitUntil, type Receiver } from './notify-helpers.js';

const secret = 'whsec-test-0123456789abcdef';
const fast = { backoffBaseMs: 50, backoffCapMs: 400 };
const nowRecord = (over: Partial<AbandonFields> = {}) => sampleRecord({ '@timestamp': new Date().toISOString(), ...over });
const caller = (i: number) => ({ raw: `+1202555${String(1000 + i)}`, e164: `+1202555${String(1000 + i)}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keys = (rx: Receiver) => rx.requests.map((r) => String(r.headers['idempotency-key']));
const bodies = (rx: Receiver) => rx.requests.map((r) => JSON.parse(r.body) as { idempotency_key: string; count: number; seq: number; abandon: { uniqueid: string } });

function outboxFor(dir: string, port: number, over: Partial<OutboxOptions> = {}): Outbox {
  return new Outbox({
    dataDir: dir,
    notifiers: [new WebhookNotifier({ url: `http://127.0.0.1:${port}/hook`, secret })],
    dedupeWindowMs: 0,
    log: captureLog().log,
    ...fast,
    ...over,
  });
}

test('receivers down for 2 s, then up: every notification arrives on every channel, none lost', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const [hookPort, slackPort] = [await freePort(), await freePort()];
  const cap = captureLog();
  const outbox = new Outbox({
    dataDir: tmp.dir,
    notifiers: [new WebhookNotifier({ url: `http://127.0.0.1:${hookPort}/hook`, secret }), new SlackNotifier({ url: `http://127.0.0.1:${slackPort}/services/x` })],
    dedupeWindowMs: 600_000,
    log: cap.log,
    ...fast,
  });
  t.after(() => outbox.stop());
  outbox.start();
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    ids.push(outbox.enqueue(nowRecord({ uniqueid: `down-${i}`, caller: caller(i) })).notificationId!);
    await sleep(40); // spread over the outage
  }
  await sleep(2000 - 12 * 40);
  assert.deepEqual(outbox.counts(), { webhook: { pending: 12, failed: 0 }, slack: { pending: 12, failed: 0 } });
  const hook = await startReceiver(undefined, hookPort);
  const slack = await startReceiver(undefined, slackPort);
  t.after(() => hook.close());
  t.after(() => slack.close());
  await waitUntil(() => outbox.counts().webhook?.pending === 0 && outbox.counts().slack?.pending === 0, 5000, 'backlog drained');

  assert.deepEqual(new Set(keys(hook)), new Set(ids), 'every notification reached the webhook');
  assert.equal(hook.requests.length, 12, 'and each exactly once');
  assert.equal(slack.requests.length, 12);
  const texts = slack.requests.map((r) => (JSON.parse(r.body) as { text: string }).text);
  for (let i = 0; i < 12; i++) assert.ok(texts.some((x) => x.includes(caller(i).e164)), `slack got caller ${i}`);
  // While down, the channel was probed with backoff, not hammered once per queued row.
  const retries = cap.lines().filter((l) => l.msg === 'abandon notification not delivered; will retry');
  assert.ok(retries.length < 60, `${retries.length} failed attempts in 2 s for 24 rows`);
  assert.ok(retries.every((l) => !String(l.err).includes('/services/x')), 'the Slack hook path is never logged');
});

test('a restart resumes: rows persist in outbox.sqlite; an in-flight send is resent with the same key', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  let hang = true;
  const rx = await startReceiver((_req, res) => {
    if (hang) return; // accepts the request, never answers: the send is in flight at stop()
    res.end('ok');
  });
  t.after(() => rx.close());

  const first = outboxFor(tmp.dir, rx.port);
  first.start();
  const a = first.enqueue(nowRecord({ uniqueid: 'r-1', caller: caller(1) })).notificationId!;
  await waitUntil(() => rx.requests.length === 1, 3000, 'first attempt in flight');
  const b = first.enqueue(nowRecord({ uniqueid: 'r-2', caller: caller(2) })).notificationId!;
  await first.stop();
  assert.deepEqual(keys(rx), [a]);

  hang = false;
  const second = outboxFor(tmp.dir, rx.port);
  t.after(() => second.stop());
  assert.equal(second.path, first.path);
  assert.deepEqual(second.counts().webhook, { pending: 2, failed: 0 });
  second.start();
  await waitUntil(() => second.counts().webhook?.pending === 0, 3000, 'resumed and delivered');
  assert.deepEqual(keys(rx).sort(), [a, a, b].sort(), 'a resent under its key, b once');
  // A replayed event (same uniqueid and source) is not queued again.
  assert.equal(second.enqueue(nowRecord({ uniqueid: 'r-1', caller: caller(1) })).added, false);
});

test('dedupe: the first abandon goes at once, repeats within the window become one follow-up with the count', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const rx = await startReceiver();
  t.after(() => rx.close());
  const outbox = outboxFor(tmp.dir, rx.port, { dedupeWindowMs: 1200 });
  t.after(() => outbox.stop());
  outbox.start();
  const frantic = caller(7);
  const t0 = Date.now();
  const r1 = outbox.enqueue(nowRecord({ uniqueid: 'f-1', caller: frantic }));
  await waitUntil(() => rx.requests.length === 1, 2000, 'first notification');
  assert.ok(Date.now() - t0 < 500, 'the first one is not held back');
  const r2 = outbox.enqueue(nowRecord({ uniqueid: 'f-2', caller: frantic, waited_seconds: 5 }));
  const r3 = outbox.enqueue(nowRecord({ uniqueid: 'f-3', caller: frantic, waited_seconds: 9 }));
  const other = outbox.enqueue(nowRecord({ uniqueid: 'o-1', caller: caller(8) }));
  const anon1 = outbox.enqueue(nowRecord({ uniqueid: 'x-1', caller: { raw: 'anonymous' } }));
  const anon2 = outbox.enqueue(nowRecord({ uniqueid: 'x-2', caller: { raw: 'anonymous' } }));
  assert.deepEqual([r1.count, r2.count, r3.count, other.count], [1, 2, 3, 1]);
  assert.deepEqual([r2.deduped, r3.deduped, other.deduped, anon2.deduped], [true, true, false, false]);
  assert.equal(r2.notificationId, r3.notificationId, 'one follow-up for both repeats');
  assert.notEqual(anon1.notificationId, anon2.notificationId, 'withheld numbers are never folded together');

  await waitUntil(() => rx.requests.length === 4, 1000, 'other caller and both anonymous ones');
  assert.ok(!keys(rx).includes(r2.notificationId!), 'the follow-up waits for the window to end');
  await waitUntil(() => rx.requests.length === 5, 3000, 'follow-up at the end of the window');
  assert.ok(Date.now() - t0 >= 1100, 'not before the window ends');
  const followUp = bodies(rx).find((b) => b.idempotency_key === r2.notificationId)!;
  assert.equal(followUp.count, 3);
  assert.equal(followUp.seq, 2);
  assert.equal(followUp.abandon.uniqueid, 'f-3', 'with the latest call');
  assert.match(JSON.parse(rx.requests.at(-1)!.body).text as string, /^3 missed calls from \+12025551007 since /);

  // After the window, the same caller starts a new group: notified at once again.
  const r4 = outbox.enqueue(nowRecord({ uniqueid: 'f-4', caller: frantic }));
  assert.equal(r4.deduped, false);
  await waitUntil(() => keys(rx).includes(r4.notificationId!), 1000, 'new group notified');
  assert.equal(rx.requests.filter((r) => r.body.includes('+12025551007')).length, 3, 'four calls, three messages over two windows');

  const recent = outbox.recentAbandonFor(frantic.e164, t0 - 1000);
  assert.equal(recent?.count, 4);
  assert.equal(recent?.agent, '1002');
  assert.equal(outbox.recentAbandonFor(frantic.e164, Date.now() + 1000), undefined);
});

test('dedupe before any attempt: repeats update the queued notification in place', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const rx = await startReceiver();
  t.after(() => rx.close());
  const outbox = outboxFor(tmp.dir, rx.port, { dedupeWindowMs: 60_000 });
  t.after(() => outbox.stop());
  const ids = [1, 2, 3].map((i) => outbox.enqueue(nowRecord({ uniqueid: `q-${i}`, caller: caller(3) })).notificationId);
  assert.equal(new Set(ids).size, 1);
  outbox.start(); // not started yet when the calls came in: nothing was sent
  await waitUntil(() => rx.requests.length === 1, 2000, 'one notification');
  await sleep(200);
  assert.equal(rx.requests.length, 1);
  const [b] = bodies(rx);
  assert.equal(b!.count, 3);
  assert.equal(b!.seq, 1);
});

test('the follow-up never overtakes the first message on a channel that was down', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const port = await freePort();
  const outbox = outboxFor(tmp.dir, port, { dedupeWindowMs: 300 });
  t.after(() => outbox.stop());
  outbox.start();
  const first = outbox.enqueue(nowRecord({ uniqueid: 'o-1', caller: caller(5) })).notificationId!;
  await sleep(100); // first attempt made (refused): its content is now frozen
  const follow = outbox.enqueue(nowRecord({ uniqueid: 'o-2', caller: caller(5) })).notificationId!;
  assert.notEqual(follow, first);
  await sleep(700); // the window is over: the follow-up is due, the first still undelivered
  const rx = await startReceiver(undefined, port);
  t.after(() => rx.close());
  await waitUntil(() => rx.requests.length === 2, 3000, 'both delivered');
  assert.deepEqual(keys(rx), [first, follow]);
  assert.deepEqual(bodies(rx).map((b) => b.count), [1, 2]);
});
