// Slack incoming webhook and Telegram Bot API against local fake endpoints. The
// Telegram token is in the URL path: it must never reach a log line or last_error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlackNotifier, slackMessage } from '../../src/abandon/notifiers/slack.js';
import { TelegramNotifier } from '../../src/abandon/notifiers/telegram.js';
import { DeliveryError } from '../../src/abandon/notifiers/types.js';
import { Outbox } from '../../src/abandon/outbox.js';
import { captureLog, sampleNotification, sampleRecord, startReceiver, tempDir, waitUntil } from './notify-helpers.js';

const token = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

test('Slack gets {text, blocks} with the supervisor text; markup in caller data is escaped', async (t) => {
  const rx = await startReceiver((_req, res) => res.end('ok'));
  t.after(() => rx.close());
  const n = sampleNotification({ latest: sampleRecord({ caller: { raw: '<!channel> 555' } }) });
  await new SlackNotifier({ url: `${rx.url}/services/T1/B2/c3` }).send(n);
  assert.equal(rx.requests.length, 1);
  assert.equal(rx.requests[0]!.url, '/services/T1/B2/c3');
  const body = JSON.parse(rx.requests[0]!.body) as ReturnType<typeof slackMessage>;
  assert.match(body.text, /^Missed call from <!channel> 555 on line 5551000, queue support, waited 34 s/);
  const blocks = JSON.stringify(body.blocks);
  assert.match(blocks, /&lt;!channel&gt; 555/);
  assert.doesNotMatch(blocks, /<!channel>/);
  assert.match(blocks, /Sticky agent: 1002/);
});

test('Slack errors: 404 no_service is permanent, 500 retryable; the hook URL is not in the message', async (t) => {
  let status = 404;
  const rx = await startReceiver((_req, res) => {
    res.statusCode = status;
    res.end(status === 404 ? 'no_service' : 'oops');
  });
  t.after(() => rx.close());
  const slack = new SlackNotifier({ url: `${rx.url}/services/T1/B2/secretpart` });
  await assert.rejects(slack.send(sampleNotification()), (e: unknown) => e instanceof DeliveryError && e.permanent && /HTTP 404 no_service/.test(e.message) && !e.message.includes('secretpart'));
  status = 500;
  await assert.rejects(slack.send(sampleNotification()), (e: unknown) => e instanceof DeliveryError && !e.permanent);
});

test('Telegram sendMessage: POST {api}/bot<token>/sendMessage with {chat_id, text}', async (t) => {
  const rx = await startReceiver((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true,"result":{"message_id":1}}');
  });
  t.after(() => rx.close());
  const n = sampleNotification();
  await new TelegramNotifier({ token, chatId: '-1001234567890', apiUrl: `${rx.url}/` }).send(n);
  await new TelegramNotifier({ token, chatId: '@supervisors', apiUrl: rx.url }).send(n);
  assert.equal(rx.requests[0]!.url, `/bot${token}/sendMessage`);
  assert.equal(rx.requests[0]!.method, 'POST');
  const body = JSON.parse(rx.requests[0]!.body) as { chat_id: unknown; text: string };
  assert.equal(body.chat_id, -1001234567890);
  assert.equal(body.text, n.latest.toText());
  assert.equal((JSON.parse(rx.requests[1]!.body) as { chat_id: unknown }).chat_id, '@supervisors');
});

test('Telegram flood control and bad chat; the token never appears in logs or errors', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const replies: [number, string][] = [
    [500, `{"ok":false,"error_code":500,"description":"Internal Server Error at /bot${token}/sendMessage"}`],
    [429, '{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}'],
    [200, '{"ok":true}'],
    [400, '{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}'],
  ];
  const at: number[] = [];
  const rx = await startReceiver((_req, res) => {
    at.push(Date.now());
    const [status, body] = replies.shift() ?? [200, '{"ok":true}'];
    res.statusCode = status;
    res.end(body);
  });
  t.after(() => rx.close());
  const cap = captureLog();
  const outbox = new Outbox({
    dataDir: tmp.dir,
    notifiers: [new TelegramNotifier({ token, chatId: '42', apiUrl: rx.url })],
    dedupeWindowMs: 0,
    log: cap.log,
    backoffBaseMs: 20,
    backoffCapMs: 100,
  });
  t.after(() => outbox.stop());
  outbox.start();
  outbox.enqueue(sampleRecord({ uniqueid: 'a' }));
  await waitUntil(() => outbox.counts().telegram?.pending === 0, 5000, 'first delivered');
  assert.equal(at.length, 3);
  assert.ok(at[2]! - at[1]! >= 950, `retry_after 1 s honoured (waited ${at[2]! - at[1]!} ms)`);

  outbox.enqueue(sampleRecord({ uniqueid: 'b', caller: { raw: '+12025550100', e164: '+12025550100' } }));
  await waitUntil(() => outbox.counts().telegram?.failed === 1, 3000, 'chat not found given up');

  const logs = cap.text();
  assert.match(logs, /Internal Server Error at <redacted>/);
  assert.match(logs, /chat not found/);
  assert.ok(!logs.includes(token) && !logs.includes('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'), 'token absent from every log line');
});

test('an error page that echoes the request path does not leak the secret URL into logs', async () => {
  const { scrubUrl } = await import('../../src/abandon/notifiers/http.js');
  const url = 'https://hooks.slack.com/services/T0REL/B0REL/s3cr3tPath?token=abc123';
  const page = 'Cannot POST /services/T0REL/B0REL/s3cr3tPath?token=abc123 (see https://hooks.slack.com/services/T0REL/B0REL/s3cr3tPath?token=abc123)';
  const out = scrubUrl(page, url);
  assert.doesNotMatch(out, /s3cr3tPath|abc123/);
  assert.match(out, /Cannot POST <redacted>/);
});
