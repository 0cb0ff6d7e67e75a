// Alerts that close themselves: the outbox delivers an abandon alert to a Slack Web
// API, a Telegram Bot API (both local stand-ins that keep and edit messages), a signed
// webhook and SMTP; the caller is reached; every channel is told, also after a
// restart of both loops over the same file. And the recall list before and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CdrDocument } from '../../src/cdr/schema.js';
import { Outbox } from '../../src/abandon/outbox.js';
import { FollowUps } from '../../src/abandon/follow-up.js';
import { reachedFromCdr } from '../../src/abandon/reached.js';
import { readRecalls } from '../../src/abandon/recalls.js';
import { AbandonRecord } from '../../src/abandon/record.js';
import { loadNotifyConfig } from '../../src/abandon/notify-config.js';
import { createNotifiers } from '../../src/abandon/notifiers/index.js';
import { ConfigError } from '../../src/config.js';
import { startSlackApi, startTelegramApi } from '../support/chat-apis.js';
import { mailHeader, startSmtpReceiver, verifyWebhook } from '../support/notify-receivers.js';
import { captureLog, startReceiver, tempDir, waitUntil } from './notify-helpers.js';

const SLACK_TOKEN = 'xoxb-1111-2222-unit';
const TG_TOKEN = '123456789:AAH-unit_test-token';
const SECRET = 'unit-webhook-secret-0123456789';

function abandon(uniqueid: string, caller: string, at: string, over: { waitedMs?: number; agent?: string; short?: number } = {}): AbandonRecord {
  return AbandonRecord.fromEvent(
    { source: 'queue', at, caller: { raw: caller, e164: caller }, did: '100', queue: 'support', agent: over.agent, waitedMs: over.waitedMs ?? 12_000, uniqueid },
    { shortAbandonMs: over.short ?? 5000 },
  );
}

async function rig(t: { after(fn: () => unknown): void }) {
  const tmp = tempDir();
  const [slack, telegram, hook, smtp] = await Promise.all([startSlackApi(SLACK_TOKEN), startTelegramApi(TG_TOKEN), startReceiver(), startSmtpReceiver()]);
  const config = loadNotifyConfig({
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    SLACK_CHANNEL: 'C0STICKY01',
    SLACK_API_URL: `${slack.url}/api`,
    TELEGRAM_BOT_TOKEN: TG_TOKEN,
    TELEGRAM_CHAT_ID: '-1001234567890',
    TELEGRAM_API_URL: telegram.url,
    NOTIFY_WEBHOOK_URL: `${hook.url}/hooks/abandon`,
    NOTIFY_WEBHOOK_SECRET: SECRET,
    SMTP_URL: smtp.url,
    NOTIFY_EMAIL_TO: 'lead@example.com',
    NOTIFY_EMAIL_FROM: 'pbx@example.com',
    NOTIFY_EMAIL_RESOLVED: 'true',
  });
  const cap = captureLog();
  const persisted: AbandonRecord[] = [];
  let running: { outbox: Outbox; followUps: FollowUps } | undefined;
  const start = () => {
    const notifiers = createNotifiers(config);
    const outbox = new Outbox({ dataDir: tmp.dir, notifiers, dedupeWindowMs: 600_000, log: cap.log, backoffBaseMs: 20, backoffCapMs: 100, onDelivered: (id, ch, ref) => followUps.delivered(id, ch, ref) });
    const followUps = new FollowUps({ dataDir: tmp.dir, notifiers, log: cap.log, persist: (r) => void persisted.push(r), backoffBaseMs: 20, backoffCapMs: 100 });
    outbox.start();
    followUps.start();
    running = { outbox, followUps };
    return running;
  };
  const stop = async () => {
    if (!running) return;
    await running.followUps.stop();
    await running.outbox.stop();
    running = undefined;
  };
  t.after(async () => {
    await stop();
    await Promise.all([slack.close(), telegram.close(), hook.close(), smtp.close()]);
    tmp.remove();
  });
  return { dir: tmp.dir, slack, telegram, hook, smtp, persisted, cap, start, stop };
}

test('reached: Slack chat.update and Telegram editMessageText edit the alert in place, the webhook gets abandon.resolved, e-mail a reply; after a restart too', async (t) => {
  const r = await rig(t);
  let { outbox, followUps } = r.start();
  const A = '+12025550500';
  const rec = abandon('u.1', A, '2026-12-01T10:00:00.000Z', { agent: '1002' });
  outbox.enqueue(rec);
  await waitUntil(() => r.slack.messages.length === 1 && r.telegram.messages.length === 1 && r.hook.requests.length === 1 && r.smtp.mails.length === 1, 5000, 'the alert on every channel');

  // Slack: Web API shape, bot token in the Authorization header, the channel id and ts kept.
  const post = r.slack.calls[0]!;
  assert.equal(post.path, '/api/chat.postMessage');
  assert.equal(post.headers.authorization, `Bearer ${SLACK_TOKEN}`);
  assert.equal(post.body.channel, 'C0STICKY01');
  assert.match(String(post.body.text), /^Missed call from \+12025550500/);

  const resolved = followUps.reached({ callerKey: A, before: Date.parse('2026-12-01T10:05:00Z'), resolution: { resolved_at: '2026-12-01T10:06:30.000Z', resolved_by: '1002', resolved_how: 'callback_in' } });
  assert.deepEqual(resolved.map((x) => [x.id, x.resolved_at, x.resolved_by, x.resolved_how]), [[rec.id, '2026-12-01T10:06:30.000Z', '1002', 'callback_in']]);
  assert.equal(r.persisted[0]!.id, rec.id, 'the resolved record goes to the journal under the same id');

  await waitUntil(() => r.slack.messages[0]!.edits === 1 && r.telegram.messages[0]!.edits === 1 && r.hook.requests.length === 2 && r.smtp.mails.length === 2, 10_000, 'the resolution on every channel');
  const update = r.slack.calls.find((c) => c.path === '/api/chat.update')!;
  assert.equal(update.headers.authorization, `Bearer ${SLACK_TOKEN}`);
  assert.deepEqual([update.body.channel, update.body.ts], ['C0STICKY01', r.slack.messages[0]!.id]);
  assert.match(r.slack.messages[0]!.text, /^Reached: \+12025550500 by agent 1002 at 10:06:30 UTC \(they called back\)\n\nMissed call from/);
  assert.equal(r.slack.messages.length, 1, 'edited in place, no second Slack message');
  const edit = r.telegram.calls.find((c) => c.path.endsWith('/editMessageText'))!;
  assert.deepEqual([edit.body.chat_id, edit.body.message_id], [-1001234567890, Number(r.telegram.messages[0]!.id)]);
  assert.match(r.telegram.messages[0]!.text, /^Reached: \+12025550500 by agent 1002/);

  const second = r.hook.requests[1]!;
  assert.ok(verifyWebhook(SECRET, second).ok, 'signed like the first');
  const body = JSON.parse(second.body) as Record<string, unknown>;
  assert.equal(second.headers['idempotency-key'], `abandon-${rec.id}-resolved`);
  assert.deepEqual(
    { event: body.event, key: body.idempotency_key, group: body.group_id, at: body.resolved_at, by: body.resolved_by, how: body.resolved_how, ids: body.notification_ids },
    { event: 'abandon.resolved', key: `abandon-${rec.id}-resolved`, group: rec.id, at: '2026-12-01T10:06:30.000Z', by: '1002', how: 'callback_in', ids: [`abandon-${rec.id}-1`] },
  );
  assert.equal((JSON.parse(r.hook.requests[0]!.body) as { event: string }).event, 'abandon');
  const reply = r.smtp.mails[1]!;
  assert.match(mailHeader(reply.raw, 'Subject') ?? '', /^Reached: \+12025550500 by agent 1002/);
  assert.equal(mailHeader(reply.raw, 'In-Reply-To'), mailHeader(r.smtp.mails[0]!.raw, 'Message-ID'), 'threaded under the alert');

  // The same caller reached again: nothing left to resolve, nothing sent.
  assert.deepEqual(followUps.reached({ callerKey: A, before: Date.parse('2026-12-01T11:00:00Z'), resolution: { resolved_at: '2026-12-01T11:00:00.000Z', resolved_how: 'call_out', resolved_by: '1003' } }), []);

  // An alert delivered before a restart is still edited after it (the refs are in the outbox file).
  const B = '+12025550501';
  const recB = abandon('u.2', B, '2026-12-01T10:10:00.000Z');
  outbox.enqueue(recB);
  await waitUntil(() => r.slack.messages.length === 2 && r.telegram.messages.length === 2 && r.hook.requests.length === 3 && r.smtp.mails.length === 3, 5000, "B's alert on every channel");
  await r.stop();
  ({ outbox, followUps } = r.start());
  followUps.reached({ callerKey: B, before: Date.parse('2026-12-01T10:20:00Z'), resolution: { resolved_at: '2026-12-01T10:21:00.000Z', resolved_by: '1003', resolved_how: 'call_out' } });
  const resolvedB = () => r.hook.requests.filter((q) => q.headers['idempotency-key'] === `abandon-${recB.id}-resolved`);
  await waitUntil(() => r.slack.messages[1]!.edits === 1 && r.telegram.messages[1]!.edits === 1 && resolvedB().length === 1, 10_000, "B's resolution after the restart");
  assert.match(r.slack.messages[1]!.text, /^Reached: \+12025550501 by agent 1003 at 10:21:00 UTC \(the agent called them\)/);
  assert.equal(r.slack.messages[0]!.edits, 1, "A's message is not edited again");
});

test('a resolution waits for an alert still on its way, then edits it; a later abandon opens a new alert', async (t) => {
  const r = await rig(t);
  const { outbox, followUps } = r.start();
  const C = '+12025550502';
  // Telegram is down: the alert is retried there while the caller is reached.
  r.telegram.down = true;
  outbox.enqueue(abandon('u.3', C, '2026-12-01T10:00:00.000Z'));
  await waitUntil(() => r.slack.messages.length === 1 && r.telegram.calls.length >= 1, 5000, 'Slack alert, Telegram tried');
  followUps.reached({ callerKey: C, before: Date.parse('2026-12-01T10:05:00Z'), resolution: { resolved_at: '2026-12-01T10:05:10.000Z', resolved_by: '1002', resolved_how: 'callback_in' } });
  await waitUntil(() => r.slack.messages[0]!.edits === 1, 5000, 'Slack edited');
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(r.telegram.calls.filter((c) => c.path.endsWith('editMessageText')).length, 0, 'no Telegram edit before its message exists');
  r.telegram.down = false;
  await waitUntil(() => r.telegram.messages.length === 1 && r.telegram.messages[0]!.edits === 1, 5000, 'Telegram: sent, then edited');
  assert.match(r.telegram.messages[0]!.text, /^Reached: \+12025550502 by agent 1002/);
  // A later abandon by the same caller is a new alert (seq 1 of a new group), not folded into the closed one.
  const again = outbox.enqueue(abandon('u.4', C, '2026-12-01T10:07:00.000Z'));
  assert.equal(again.deduped, false);
  assert.equal(again.notificationId, `abandon-${AbandonRecord.fromEvent({ source: 'queue', at: '2026-12-01T10:07:00.000Z', caller: { raw: C }, waitedMs: 0, uniqueid: 'u.4' }).id}-1`);
});

test('the recall list: callers not reached, oldest first, attempts and waits, agent to call back; short abandons and withheld numbers left out', async (t) => {
  const r = await rig(t);
  const { outbox, followUps } = r.start();
  const now = Date.parse('2026-12-01T12:00:00Z');
  outbox.enqueue(abandon('r.1', '+12025550510', '2026-12-01T09:00:00.000Z', { waitedMs: 40_000 }));
  outbox.enqueue(abandon('r.2', '+12025550511', '2026-12-01T09:30:00.000Z', { waitedMs: 20_000, agent: '1002' }));
  outbox.enqueue(abandon('r.3', '+12025550510', '2026-12-01T10:00:00.000Z', { waitedMs: 65_000 }));
  outbox.enqueue(abandon('r.4', '+12025550512', '2026-12-01T10:30:00.000Z', { waitedMs: 3_000 })); // short
  outbox.enqueue(AbandonRecord.fromEvent({ source: 'queue', at: '2026-12-01T10:40:00.000Z', caller: { raw: 'anonymous' }, waitedMs: 30_000, uniqueid: 'r.5' }));
  outbox.enqueue(abandon('r.6', '+12025550513', '2026-11-29T10:00:00.000Z')); // older than the day asked for
  const list = (within = 86_400_000) => readRecalls(r.dir, { now, withinMs: within, lastAgent: (e164) => (e164 === '+12025550510' ? '1004' : undefined) });

  const before = list();
  assert.deepEqual(
    before.recalls.map((e) => [e.caller.e164, e.since, e.last_at, e.attempts, e.waited_seconds_total, e.waited_seconds_longest, e.agent, e.agent_source]),
    [
      ['+12025550510', '2026-12-01T09:00:00.000Z', '2026-12-01T10:00:00.000Z', 2, 105, 65, '1004', 'history'],
      ['+12025550511', '2026-12-01T09:30:00.000Z', '2026-12-01T09:30:00.000Z', 1, 20, 20, '1002', 'abandon'],
    ],
  );
  assert.equal(before.withheld, 1);
  assert.equal(list(4 * 86_400_000).recalls.length, 3, 'a longer period shows the older caller too');

  followUps.reached({ callerKey: '+12025550510', before: now, resolution: { resolved_at: '2026-12-01T11:00:00.000Z', resolved_by: '1004', resolved_how: 'call_out' } });
  assert.deepEqual(list().recalls.map((e) => e.caller.e164), ['+12025550511'], 'reached callers leave the list');
  assert.deepEqual(readRecalls(`${r.dir}/nowhere`, { now, withinMs: 1000 }).recalls, [], 'no outbox yet: an empty list');
});

const cdr = (over: Partial<CdrDocument> & { disposition?: string; answer?: string }): CdrDocument => ({
  id: 'x',
  '@timestamp': '2026-12-01T10:10:00.000Z',
  direction: 'inbound',
  customer_e164: '+12025550520',
  customer_raw: '+12025550520',
  agent: '1002',
  talk_seconds: 30,
  talked: true,
  asterisk: { src: '', dst: '', dcontext: '', clid: '', channel: '', dstchannel: '', lastapp: '', lastdata: '', start: '2026-12-01T10:09:00.000Z', answer: over.answer ?? '2026-12-01T10:09:05.000Z', end: '2026-12-01T10:10:00.000Z', duration: 60, billsec: 55, disposition: over.disposition ?? 'ANSWERED', amaflags: '', accountcode: '', uniqueid: '1', userfield: '' },
  ...over,
});

test('reached from a CDR: a call-back that talked (callback_in), an agent call the caller answered (call_out); nothing else', () => {
  assert.deepEqual(reachedFromCdr(cdr({})), { callerKey: '+12025550520', before: Date.parse('2026-12-01T10:09:05.000Z'), resolution: { resolved_at: '2026-12-01T10:10:00.000Z', resolved_by: '1002', resolved_how: 'callback_in' } });
  assert.equal(reachedFromCdr(cdr({ talked: false })), undefined, 'shorter than the DID minimum talk time');
  assert.equal(reachedFromCdr(cdr({ agent: undefined })), undefined, 'the IVR alone');
  assert.equal(reachedFromCdr(cdr({ direction: 'outbound', talked: false, talk_seconds: 2 }))?.resolution.resolved_how, 'call_out', 'answered, however short');
  assert.equal(reachedFromCdr(cdr({ direction: 'outbound', talked: false, disposition: 'NO ANSWER' })), undefined);
  assert.equal(reachedFromCdr(cdr({ direction: 'internal' })), undefined);
});

test('Slack configuration: bot token and channel together, never with a webhook URL; both tokens redacted', () => {
  const bad = (env: Record<string, string>) => {
    try {
      loadNotifyConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    return '';
  };
  assert.match(bad({ SLACK_BOT_TOKEN: 'xoxb-1-2-3' }), /SLACK_CHANNEL=\(unset\) is invalid/);
  assert.match(bad({ SLACK_BOT_TOKEN: 'xoxb-1-2-3', SLACK_CHANNEL: 'C0123', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X' }), /SLACK_BOT_TOKEN=<redacted> is invalid: expected either SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN/);
  assert.match(bad({ SLACK_BOT_TOKEN: 'hunter2', SLACK_CHANNEL: 'C0123' }), /SLACK_BOT_TOKEN=<redacted>/);
  assert.equal(bad({ SLACK_BOT_TOKEN: 'xoxb-1-2-3', SLACK_CHANNEL: 'C0123' }), '');
});
