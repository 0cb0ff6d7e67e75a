// The signed webhook, checked at a local receiver exactly as a customer would:
// HMAC-SHA256 over "<timestamp>.<raw body>", constant-time compare, replay window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookNotifier } from '../../src/abandon/notifiers/webhook.js';
import { DeliveryError } from '../../src/abandon/notifiers/types.js';
import { Outbox } from '../../src/abandon/outbox.js';
import { captureLog, freePort, sampleNotification, sampleRecord, startReceiver, tempDir, waitUntil, type ReceivedRequest } from './notify-helpers.js';

const secret = 'whsec-test-0123456789abcdef';

/** What a customer's endpoint does before trusting the body. */
function verifySignature(req: ReceivedRequest, key = secret, toleranceSeconds = 300): boolean {
  const ts = req.headers['x-sticky-timestamp'];
  const sig = req.headers['x-sticky-signature'];
  if (typeof ts !== 'string' || typeof sig !== 'string' || !/^\d+$/.test(ts)) return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > toleranceSeconds) return false;
  const expected = Buffer.from(`v1=${createHmac('sha256', key).update(`${ts}.${req.body}`).digest('hex')}`);
  const got = Buffer.from(sig);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

test('the receiver verifies the signature over the raw body and gets the record', async (t) => {
  const rx = await startReceiver((req, res) => {
    res.statusCode = verifySignature(req) ? 204 : 401;
    res.end();
  });
  t.after(() => rx.close());
  // Non-ASCII content: the signature covers the bytes as sent.
  const n = sampleNotification({ latest: sampleRecord({ queue: 'підтримка' }) });
  await new WebhookNotifier({ url: `${rx.url}/hooks/abandon?tenant=7`, secret }).send(n);

  assert.equal(rx.requests.length, 1);
  const req = rx.requests[0]!;
  assert.ok(verifySignature(req), 'signature verifies');
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/hooks/abandon?tenant=7');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['idempotency-key'], n.id);
  assert.match(String(req.headers['x-sticky-signature']), /^v1=[0-9a-f]{64}$/);
  const body = JSON.parse(req.body) as Record<string, unknown>;
  assert.equal(body.type, 'abandon');
  assert.equal(body.idempotency_key, n.id);
  assert.equal(body.count, 1);
  assert.deepEqual(body.abandon, JSON.parse(JSON.stringify(n.latest)));
  assert.match(String(body.text), /^Missed call from \+380961234567 on line 5551000, queue підтримка, waited 34 s/);

  // The verifier is not a rubber stamp: a changed body, a wrong key or an old timestamp fail.
  assert.equal(verifySignature({ ...req, body: req.body.replace('34', '35') }), false);
  assert.equal(verifySignature(req, 'another-secret-0123456789'), false);
  const old = new WebhookNotifier({ url: rx.url, secret, nowSeconds: () => Date.now() / 1000 - 3600 });
  await assert.rejects(old.send(n), (e: unknown) => e instanceof DeliveryError && !e.permanent && /HTTP 401/.test(e.message));
});

test('failures are classified: 4xx permanent, 5xx/429/408/401 retryable, refused and timeouts retryable', async (t) => {
  let status = 400;
  const rx = await startReceiver((req, res) => {
    if (req.url === '/hang') return; // never answers
    res.statusCode = status;
    if (status === 429) res.setHeader('retry-after', '7');
    res.end(status === 400 ? 'bad payload' : '');
  });
  t.after(() => rx.close());
  const n = sampleNotification();
  const send = (path = '/', timeoutMs?: number) => new WebhookNotifier({ url: `${rx.url}${path}`, secret, timeoutMs }).send(n);
  const expect = async (permanent: boolean, message: RegExp, retryAfterMs?: number, p?: Promise<void>) =>
    assert.rejects(p ?? send(), (e: unknown) => {
      assert.ok(e instanceof DeliveryError);
      assert.equal(e.permanent, permanent, e.message);
      assert.match(e.message, message);
      assert.equal(e.retryAfterMs, retryAfterMs);
      return true;
    });
  await expect(true, /^webhook POST http:\/\/127\.0\.0\.1:\d+: HTTP 400 bad payload$/);
  for (const s of [404, 410, 413, 422]) {
    status = s;
    await expect(true, new RegExp(`HTTP ${s}`));
  }
  for (const s of [500, 502, 503, 408, 401, 403]) {
    status = s;
    await expect(false, new RegExp(`HTTP ${s}`));
  }
  status = 429;
  await expect(false, /HTTP 429/, 7000);
  await expect(false, /no response within 150 ms/, undefined, send('/hang', 150));
  const down = await freePort();
  await expect(false, /ECONNREFUSED/, undefined, new WebhookNotifier({ url: `http://127.0.0.1:${down}/x`, secret }).send(n));
});

test('through the outbox: retried with the same Idempotency-Key until accepted; a 400 is given up', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  let failFirst = 2;
  const rx = await startReceiver((req, res) => {
    const body = JSON.parse(req.body) as { abandon: { uniqueid: string } };
    if (body.abandon.uniqueid === 'bad') res.statusCode = 400;
    else if (failFirst-- > 0) res.statusCode = 503;
    else res.statusCode = verifySignature(req) ? 200 : 401;
    res.end();
  });
  t.after(() => rx.close());
  const cap = captureLog();
  const outbox = new Outbox({
    dataDir: tmp.dir,
    notifiers: [new WebhookNotifier({ url: rx.url, secret })],
    dedupeWindowMs: 0,
    log: cap.log,
    backoffBaseMs: 20,
    backoffCapMs: 100,
  });
  t.after(() => outbox.stop());
  outbox.start();
  const good = outbox.enqueue(sampleRecord({ uniqueid: 'good' }));
  outbox.enqueue(sampleRecord({ uniqueid: 'bad', caller: { raw: '+12025550100', e164: '+12025550100' } }));
  await waitUntil(() => outbox.counts().webhook?.pending === 0, 5000, 'both rows settled');

  const goods = rx.requests.filter((r) => r.body.includes('"uniqueid":"good"'));
  assert.equal(goods.length, 3, 'two 503s, then accepted');
  assert.deepEqual(new Set(goods.map((r) => r.headers['idempotency-key'])), new Set([good.notificationId]));
  assert.equal(new Set(goods.map((r) => r.body)).size, 1, 'the same body on every attempt');
  assert.equal(rx.requests.filter((r) => r.body.includes('"uniqueid":"bad"')).length, 1, 'a 400 is not retried');
  assert.deepEqual(outbox.counts().webhook, { pending: 0, failed: 1 });
  assert.ok(cap.lines().some((l) => l.msg === 'abandon notification rejected permanently; not retried' && /HTTP 400/.test(String(l.err))));

  // An operator who fixed the receiver can put the failed row back.
  assert.equal(outbox.requeueFailed('webhook'), 1);
  await waitUntil(() => rx.requests.filter((r) => r.body.includes('"uniqueid":"bad"')).length === 2, 3000, 'requeued row retried');
});
