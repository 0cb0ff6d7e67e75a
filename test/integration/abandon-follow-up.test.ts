// Abandons that get followed up, on the real PBX (issue 17). A caller gives up in
// queue `support`; Slack (bot token, Web API chat.postMessage), Telegram and a
// signed webhook are told; the recall list shows them. They call back and 1002
// (queue member) talks to them: the Slack message is updated in place
// (chat.update), the Telegram message edited (editMessageText), the webhook gets
// `abandon.resolved`, the record in the journal and in Elasticsearch (same _id)
// carries resolved_at/by/how, and the recall list no longer shows them. A second
// caller is reached by 1002 calling them (call_out).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { DateTime } from 'luxon';
import { Client } from '@elastic/elasticsearch';
import { testCluster, type TestCluster } from '../es-double/cluster.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { agentDialsOut, call, startAgent, startCustomerPhone } from '../support/sipp.js';
import { hangupAllChannels, phoneUp, waitChannelsGone, waitEndpointState } from '../support/harness.js';
import { poll } from '../support/cdr.js';
import { startHttpReceiver, verifyWebhook, type HttpReceiver } from '../support/notify-receivers.js';
import { startSlackApi, startTelegramApi, type ChatApi } from '../support/chat-apis.js';
import { installTemplates } from '../../src/cdr/index-template.js';
import { Journal } from '../../src/cdr/journal.js';
import type { AbandonDocument, AbandonFields } from '../../src/abandon/record.js';
import type { RecallList } from '../../src/abandon/recalls.js';

const prefix = `it-followup-${Date.now()}`;
const CALLBACK_CALLER = '+12025550600'; // abandons in the queue, calls back, 1002 answers
const CALLOUT_CALLER = '+12025550601'; // abandons in the queue, 1002 calls them
const SLACK_TOKEN = 'xoxb-4242-integration-test';
const TG_TOKEN = '123456789:AAH-followup_test-token';
const SECRET = 'it-followup-secret-0123456789abcdef';
const HTTP_TOKEN = 'it-followup-http-token-0123456789';
let cluster: TestCluster;
let es: Client;
let router: RouterProcess;
let slack: ChatApi;
let telegram: ChatApi;
let hook: HttpReceiver;
let base: string;
const log = (...a: unknown[]) => console.error('#', ...a);

before(async () => {
  await hangupAllChannels();
  cluster = await testCluster();
  es = new Client({ node: cluster.node });
  await installTemplates(es, prefix);
  [slack, telegram, hook] = await Promise.all([startSlackApi(SLACK_TOKEN), startTelegramApi(TG_TOKEN), startHttpReceiver()]);
  router = await startRouter({
    ES_NODE: cluster.node,
    ES_INDEX_PREFIX: prefix,
    HTTP_TOKEN,
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    SLACK_CHANNEL: 'C0STICKY01',
    SLACK_API_URL: `${slack.url}/api`,
    TELEGRAM_BOT_TOKEN: TG_TOKEN,
    TELEGRAM_CHAT_ID: '-1001234567890',
    TELEGRAM_API_URL: telegram.url,
    NOTIFY_WEBHOOK_URL: `${hook.url}/hooks/abandon`,
    NOTIFY_WEBHOOK_SECRET: SECRET,
  });
  const listening = await router.waitForLog((l) => l.msg === 'http listening', 15_000, 'http listening');
  base = `http://127.0.0.1:${String(listening.port)}`;
});

after(async () => {
  await router?.stop();
  await Promise.all([slack?.close(), telegram?.close(), hook?.close()]);
  await es?.close();
  await cluster?.clean(prefix);
  await cluster?.close();
});

const callerOf = (l: Record<string, unknown>) => (l.abandon as { caller?: { raw?: string } } | undefined)?.caller?.raw;
const json = (s: string) => JSON.parse(s) as Record<string, unknown>;
const hooksFor = (caller: string) => hook.requests.filter((r) => JSON.stringify(json(r.body)).includes(caller));
const slackFor = (caller: string) => slack.messages.filter((m) => m.text.includes(caller));
const tgFor = (caller: string) => telegram.messages.filter((m) => m.text.includes(caller));

async function recallsHttp(): Promise<RecallList> {
  const res = await fetch(`${base}/v1/recalls`, { headers: { authorization: `Bearer ${HTTP_TOKEN}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as RecallList;
}

function recallsCli(args: string[] = ['--json']): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'recalls', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: router.dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (status) => resolve({ status, stdout, stderr })));
}

function journalAbandon(id: string): AbandonDocument | undefined {
  const j = new Journal(router.dataDir, { readonly: true });
  try {
    for (const row of j.iterate(DateTime.fromMillis(0), DateTime.utc().plus({ days: 2 }), 'abandon')) if (row.id === id) return JSON.parse(row.json) as AbandonDocument;
    return undefined;
  } finally {
    j.close();
  }
}

async function esAbandon(id: string): Promise<{ index: string; doc: AbandonDocument }[]> {
  await es.indices.refresh({ index: `${prefix}-abandons-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
  const res = await es.search<AbandonDocument>({ index: `${prefix}-abandons-*`, ignore_unavailable: true, allow_no_indices: true, query: { ids: { values: [id] } } });
  return res.hits.hits.map((h) => ({ index: h._index, doc: h._source! }));
}

/** No agent is registered: the caller waits in `support` for ~6 s (over SHORT_ABANDON's 5 s) and hangs up. */
async function abandonInQueue(caller: string): Promise<AbandonFields> {
  // A phone stopped by an earlier test reads online until a qualify fails: the queue would ring its dead
  // contact, and Asterisk retransmits that INVITE for 32 s, into a later test's phone.
  await waitEndpointState('1002', 'offline');
  const r = await call('100', caller, { talkMs: 6000 });
  assert.equal(r.exitCode, 0, r.errors.slice(0, 300));
  const line = await router.waitForLog((l) => l.event === 'abandon' && callerOf(l) === caller, 15_000, `abandon of ${caller}`);
  const rec = line.abandon as AbandonFields;
  assert.equal(rec.source, 'queue');
  assert.equal(rec.short, false);
  await poll(() => ({ s: slackFor(caller).length, t: tgFor(caller).length, w: hooksFor(caller).length }), (c) => c.s === 1 && c.t === 1 && c.w === 1, 20_000, `alerts for ${caller}`);
  await waitChannelsGone();
  return rec;
}

let callbackAbandon: AbandonFields;

test('abandon in the queue → Slack chat.postMessage (bot token), Telegram sendMessage, webhook; the caller is on the recall list (HTTP and CLI)', async () => {
  callbackAbandon = await abandonInQueue(CALLBACK_CALLER);
  const post = slack.calls.find((c) => c.path === '/api/chat.postMessage' && String(c.body.text).includes(CALLBACK_CALLER))!;
  assert.equal(post.headers.authorization, `Bearer ${SLACK_TOKEN}`, 'the bot token in the Authorization header');
  assert.equal(post.body.channel, 'C0STICKY01');
  assert.ok(Array.isArray(post.body.blocks));
  assert.equal(json(hooksFor(CALLBACK_CALLER)[0]!.body).event, 'abandon');

  const list = await recallsHttp();
  const entry = list.recalls.find((e) => e.caller.e164 === CALLBACK_CALLER);
  assert.ok(entry, `on the recall list: ${JSON.stringify(list)}`);
  assert.equal(entry.attempts, 1);
  assert.equal(entry.since, callbackAbandon['@timestamp']);
  assert.equal(entry.waited_seconds_total, callbackAbandon.waited_seconds);
  assert.ok(entry.waited_seconds_total >= 5, `waited ${entry.waited_seconds_total} s`);
  assert.equal(entry.queue, 'support');
  assert.equal(entry.did, '100');
  const cli = await recallsCli();
  assert.equal(cli.status, 0, cli.stderr);
  assert.deepEqual((JSON.parse(cli.stdout) as RecallList).recalls, list.recalls, 'the CLI prints the same list');
  const human = await recallsCli([]);
  assert.match(human.stdout, new RegExp(`\\${CALLBACK_CALLER}\\s+1\\s+${callbackAbandon.waited_seconds} s`));
  log(`recall list before the call-back:\n${human.stdout}`);
});

test('the caller calls back and talks to 1002 → Slack updated in place (chat.update), Telegram edited, webhook abandon.resolved; journal and ES carry resolved_*; off the recall list', async () => {
  assert.ok(callbackAbandon, "needs the first test's abandon");
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  let reachedAt: number;
  try {
    const r = await call('100', CALLBACK_CALLER, { talkMs: 3000 });
    assert.equal(r.exitCode, 0, r.errors.slice(0, 300));
    reachedAt = r.endedAt;
    const { invites } = await agent.stop();
    assert.ok(invites.length >= 1, '1002 was rung (queue support)');
    await waitChannelsGone();
  } finally {
    await agent.stop();
  }
  const resolvedLine = await router.waitForLog((l) => l.event === 'abandon.resolved' && callerOf(l) === CALLBACK_CALLER, 15_000, 'abandon.resolved log line');
  const rec = resolvedLine.abandon as AbandonFields;
  assert.equal(rec.id, callbackAbandon.id);
  assert.equal(rec.resolved_by, '1002');
  assert.equal(rec.resolved_how, 'callback_in');
  assert.ok(Math.abs(Date.parse(rec.resolved_at!) - reachedAt) < 3000, `resolved_at ${rec.resolved_at} ≈ the call-back's end ${new Date(reachedAt).toISOString()}`);

  // Slack: the one message, updated in place through chat.update with the bot token.
  await poll(() => slackFor(CALLBACK_CALLER)[0]!.edits, (n) => n >= 1, 15_000, 'Slack message updated');
  const update = slack.calls.find((c) => c.path === '/api/chat.update')!;
  assert.equal(update.headers.authorization, `Bearer ${SLACK_TOKEN}`);
  assert.equal(update.body.channel, 'C0STICKY01', 'the channel id chat.postMessage returned');
  assert.equal(update.body.ts, slackFor(CALLBACK_CALLER)[0]!.id, 'the ts chat.postMessage returned');
  assert.equal(slackFor(CALLBACK_CALLER).length, 1, 'no second Slack message');
  assert.match(slackFor(CALLBACK_CALLER)[0]!.text, new RegExp(`^Reached: \\${CALLBACK_CALLER} by agent 1002 at \\d\\d:\\d\\d:\\d\\d UTC \\(they called back\\)`));
  log(`Slack message now: ${slackFor(CALLBACK_CALLER)[0]!.text.split('\n')[0]}`);

  // Telegram: the same message_id edited.
  await poll(() => tgFor(CALLBACK_CALLER)[0]!.edits, (n) => n >= 1, 15_000, 'Telegram message edited');
  const edit = telegram.calls.find((c) => c.path === `/bot${TG_TOKEN}/editMessageText`)!;
  assert.equal(edit.body.message_id, Number(tgFor(CALLBACK_CALLER)[0]!.id));
  assert.equal(edit.body.chat_id, -1001234567890);
  assert.match(tgFor(CALLBACK_CALLER)[0]!.text, /^Reached: .* by agent 1002/);

  // Webhook: a second, signed event under its own idempotency key.
  const hooks = await poll(() => hooksFor(CALLBACK_CALLER), (h) => h.length >= 2, 15_000, 'abandon.resolved webhook');
  const second = hooks[1]!;
  assert.ok(verifyWebhook(SECRET, second).ok);
  const body = json(second.body);
  assert.equal(second.headers['idempotency-key'], `abandon-${callbackAbandon.id}-resolved`);
  assert.deepEqual(
    { event: body.event, group: body.group_id, by: body.resolved_by, how: body.resolved_how, at: body.resolved_at },
    { event: 'abandon.resolved', group: callbackAbandon.id, by: '1002', how: 'callback_in', at: rec.resolved_at },
  );

  // The record: journal and Elasticsearch (same _id, same daily index).
  const j = journalAbandon(callbackAbandon.id)!;
  assert.deepEqual([j.resolved_at, j.resolved_by, j.resolved_how], [rec.resolved_at, '1002', 'callback_in']);
  const hits = await poll(() => esAbandon(callbackAbandon.id), (h) => h.length === 1 && h[0]!.doc.resolved_at !== undefined, 15_000, 'resolved record in Elasticsearch');
  assert.equal(hits[0]!.index, `${prefix}-abandons-${DateTime.fromISO(callbackAbandon['@timestamp'], { zone: 'utc' }).toFormat('yyyy.MM.dd')}`);
  assert.deepEqual([hits[0]!.doc.resolved_by, hits[0]!.doc.resolved_how, hits[0]!.doc.waited_seconds], ['1002', 'callback_in', callbackAbandon.waited_seconds]);
  const open = await es.count({ index: `${prefix}-abandons-*`, query: { bool: { must_not: [{ exists: { field: 'resolved_at' } }], filter: [{ term: { id: callbackAbandon.id } }] } } });
  assert.equal(open.count, 0, "the Kibana recall search (not resolved_at:*) no longer matches it");

  const after = await recallsHttp();
  assert.equal(after.recalls.find((e) => e.caller.e164 === CALLBACK_CALLER), undefined, 'off the recall list');
  log(`recall list after the call-back:\n${(await recallsCli([])).stdout}`);
});

test('1002 calls an abandoned caller and they answer → resolved call_out', async () => {
  const rec = await abandonInQueue(CALLOUT_CALLER);
  assert.ok((await recallsHttp()).recalls.some((e) => e.caller.e164 === CALLOUT_CALLER));
  const customer = await startCustomerPhone({ ringMs: 200 });
  try {
    const out = await agentDialsOut('1002', CALLOUT_CALLER, { talkMs: 1500 });
    assert.equal(out.exitCode, 0, out.errors.slice(0, 300));
    await waitChannelsGone();
  } finally {
    await customer.stop();
    await hangupAllChannels();
  }
  const line = await router.waitForLog((l) => l.event === 'abandon.resolved' && callerOf(l) === CALLOUT_CALLER, 15_000, 'abandon.resolved (call_out)').catch((err: Error) => {
    // Say what the router learned from the outbound call instead.
    const cdrs = router.lines.filter((l) => l.msg === 'cdr journaled' || l.msg === 'cdr event rejected').slice(-6);
    throw new Error(`${err.message}; last CDRs the router saw: ${JSON.stringify(cdrs)}`);
  });
  assert.deepEqual([(line.abandon as AbandonFields).resolved_by, (line.abandon as AbandonFields).resolved_how], ['1002', 'call_out']);
  await poll(() => slackFor(CALLOUT_CALLER)[0]!.edits, (n) => n >= 1, 15_000, 'Slack updated');
  assert.match(slackFor(CALLOUT_CALLER)[0]!.text, /\(the agent called them\)/);
  const hooks = await poll(() => hooksFor(CALLOUT_CALLER), (h) => h.length >= 2, 15_000, 'abandon.resolved webhook');
  assert.equal(json(hooks[1]!.body).resolved_how, 'call_out');
  assert.equal(journalAbandon(rec.id)?.resolved_how, 'call_out');
  assert.equal((await recallsHttp()).recalls.find((e) => e.caller.e164 === CALLOUT_CALLER), undefined);
});
