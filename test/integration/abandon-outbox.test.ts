// The notification outbox against a receiver that is down: the router starts with
// NOTIFY_WEBHOOK_URL on a port where nothing listens, three callers abandon in
// queue `support`, and 30 s later a receiver starts on that port. Every
// notification must arrive (none lost), signed, and any repeat must carry the
// same Idempotency-Key and body. The product's default backoff is used (base 1 s,
// cap 60 s, half-to-full jitter, one probe per pause for the whole channel): the
// pause after the k-th consecutive failure is 2^(k-2)..2^(k-1) s, so 30 s down holds
// at most 6 failures and the next probe comes at most 32 s after the receiver is
// back (measured: 18–20 s). Deadline: 90 s after the receiver starts, which also
// covers a pause at the 60 s cap. The test takes ~55 s, most of it the 30 s outage.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call } from '../support/sipp.js';
import { hangupAllChannels, waitChannelsGone } from '../support/harness.js';
import { poll } from '../support/cdr.js';
import { startHttpReceiver, unusedPort, verifyWebhook, type HttpReceiver } from '../support/notify-receivers.js';
import type { AbandonFields } from '../../src/abandon/record.js';

const SECRET = 'it-outbox-secret-0123456789abcdef';
const DOWN_MS = 30_000;
const DEADLINE_MS = 90_000;
const CALLERS = ['+12025550500', '+12025550501', '+12025550502'];
let router: RouterProcess;
let receiver: HttpReceiver | undefined;
let port: number;
const log = (...a: unknown[]) => console.error('#', ...a);

before(async () => {
  await hangupAllChannels();
  port = await unusedPort();
  // These callers hang up after ~1.5 s: with the default SHORT_ABANDON (PT5S) nobody would be told.
  router = await startRouter({ NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/abandon`, NOTIFY_WEBHOOK_SECRET: SECRET, SHORT_ABANDON: 'PT0S' });
});

after(async () => {
  await router?.stop();
  await receiver?.close();
});

test('webhook receiver down for 30 s, then up → all 3 notifications arrive, signed; repeats only under the same Idempotency-Key', { timeout: DOWN_MS + DEADLINE_MS + 60_000 }, async () => {
  const downSince = Date.now();
  // Three different callers abandon in the queue (no agent phones: nobody answers).
  const results = await Promise.all(CALLERS.map((c) => call('100', c, { talkMs: 1500 })));
  results.forEach((r, i) => assert.equal(r.exitCode, 0, `${CALLERS[i]} answered by the IVR, then hung up: ${r.errors.slice(0, 200)}`));
  const records = await Promise.all(
    CALLERS.map(async (c) => (await router.waitForLog((l) => l.event === 'abandon' && (l.abandon as AbandonFields).caller.raw === c, 10_000, `abandon for ${c}`)).abandon as AbandonFields),
  );
  const expectedKeys = new Set(records.map((r) => `abandon-${r.id}-1`));
  assert.equal(expectedKeys.size, 3, 'three separate notifications (different callers are not folded)');
  await waitChannelsGone();

  // The router tried while nothing listened, and backed off.
  await router.waitForLog((l) => l.msg === 'abandon notification not delivered; will retry', 10_000, 'a failed attempt');
  const wait = DOWN_MS - (Date.now() - downSince);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const failedWhileDown = router.lines.filter((l) => l.msg === 'abandon notification not delivered; will retry');
  log(`while down (${((Date.now() - downSince) / 1000).toFixed(1)} s): ${failedWhileDown.length} failed attempts, pauses ${failedWhileDown.map((l) => `${((l.retryInMs as number) / 1000).toFixed(1)}s`).join(' ')}`);
  assert.ok(failedWhileDown.every((l) => /ECONNREFUSED/.test(String(l.err))), 'connection refused, retried');

  receiver = await startHttpReceiver(undefined, port);
  const upAt = Date.now();
  const keysSeen = () => new Set(receiver!.requests.map((r) => String(r.headers['idempotency-key'])));
  await poll(keysSeen, (k) => [...expectedKeys].every((x) => k.has(x)), DEADLINE_MS, 'all 3 notifications at the receiver', 200);
  const allAt = Date.now();
  const firstAt = receiver.requests[0]!.at;
  log(`receiver up → first delivery ${((firstAt - upAt) / 1000).toFixed(1)} s, all 3 ${((allAt - upAt) / 1000).toFixed(1)} s; ${receiver.requests.length} requests`);
  // A quiet period: nothing new turns up later (no fourth key, no stray retries).
  await new Promise((r) => setTimeout(r, 3000));

  assert.deepEqual(keysSeen(), expectedKeys, 'exactly the three notifications, none lost, none invented');
  const byKey = new Map<string, string[]>();
  for (const req of receiver.requests) {
    const check = verifyWebhook(SECRET, req);
    assert.ok(check.ok, `signature verifies: ${check.why}`);
    // The timestamp is the attempt's: fresh, not the time of the abandon 30 s before.
    assert.ok(Math.abs(check.timestamp! * 1000 - req.at) < 5000, 'signed at send time');
    const key = String(req.headers['idempotency-key']);
    const body = JSON.parse(req.body) as { idempotency_key: string; abandon: AbandonFields };
    assert.equal(body.idempotency_key, key);
    byKey.set(key, [...(byKey.get(key) ?? []), req.body]);
  }
  for (const [key, bodies] of byKey) {
    assert.ok(bodies.every((b) => b === bodies[0]), `repeats of ${key} carry the same body`);
    const rec = records.find((r) => `abandon-${r.id}-1` === key)!;
    assert.deepEqual((JSON.parse(bodies[0]!) as { abandon: AbandonFields }).abandon, rec, `${key} carries ${rec.caller.raw}'s record`);
  }
  assert.ok(router.lines.some((l) => l.msg === 'abandon notification receiver is back'), 'the router noticed the receiver is back');
});
