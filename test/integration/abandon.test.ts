// Abandoned calls on the real PBX (issue 5): a caller who gives up in queue
// `support`, and one who gives up while their sticky agent rings, each make one
// abandon record that is logged, journaled, shipped to `${prefix}-abandons-*`,
// written to queue_log (router phase only) and notified on every channel, each at
// its own local receiver. A caller who abandoned and calls back is flagged in the
// decision log and gets their sticky agent first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { Client } from '@elastic/elasticsearch';
import { testCluster, type TestCluster } from '../es-double/cluster.js';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import type { AmiEvent } from '../../src/ami/connection.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent } from '../support/sipp.js';
import { historyDoc, seedHistory } from '../support/history.js';
import { hangupAllChannels, phoneUp, queueLogLines, waitChannelsGone, waitEndpointState } from '../support/harness.js';
import { poll } from '../support/cdr.js';
import { mailHeader, mailText, sipTimeline, startNotifyReceivers, verifyWebhook, type NotifyReceivers } from '../support/notify-receivers.js';
import { installTemplate } from '../../src/cdr/index-template.js';
import { Journal } from '../../src/cdr/journal.js';
import type { AbandonDocument, AbandonFields } from '../../src/abandon/record.js';
import type { CdrDocument } from '../../src/cdr/schema.js';

const prefix = `it-abandon-${Date.now()}`;
const QUEUE_CALLER = '+12025550400'; // no history: lands in queue support
const RING_CALLER = '+12025550401'; // sticky to 1002 (seeded), abandons while 1002 rings
const ABANDON_ONLY_CALLER = '+12025550402'; // same, but their history is gone before they call back
const SHORT_CALLER = '+12025550403'; // hangs up in the queue after ~1.5 s on DID 200 (SHORT_ABANDON PT5S)
let cluster: TestCluster;
let es: Client;
let router: RouterProcess;
let ami: AmiWatch;
let rx: NotifyReceivers;
const history: Record<string, CdrDocument> = {};
const log = (...a: unknown[]) => console.error('#', ...a);

before(async () => {
  await hangupAllChannels();
  cluster = await testCluster();
  es = new Client({ node: cluster.node });
  await installTemplate(es, prefix);
  const now = DateTime.utc();
  history[RING_CALLER] = historyDoc(RING_CALLER, '1002', now.minus({ minutes: 5 }));
  history[ABANDON_ONLY_CALLER] = historyDoc(ABANDON_ONLY_CALLER, '1002', now.minus({ minutes: 6 }));
  await seedHistory(cluster.node, prefix, Object.values(history));
  rx = await startNotifyReceivers();
  ami = await watchAmi();
  // DID 100: short abandons below 1 s (these tests hang up after 1.5-3 s); every other DID: the default PT5S.
  const routes = join(mkdtempSync(join(tmpdir(), 'sticky-routes-')), 'routes.json');
  writeFileSync(routes, JSON.stringify({ dids: { '100': { shortAbandon: 'PT1S' } } }));
  router = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT10S', ROUTES_FILE: routes, SHORT_ABANDON: 'PT5S', ...rx.env });
});

after(async () => {
  await router?.stop();
  await ami?.stop();
  await rx?.close();
  await es?.close();
  await cluster?.clean(prefix);
  await cluster?.close();
});

// ---- reading back what the router produced ----------------------------------

const callerOf = (l: Record<string, unknown>) => (l.abandon as { caller?: { raw?: string } } | undefined)?.caller?.raw;
const abandonLines = (caller: string) => router.lines.filter((l) => l.event === 'abandon' && callerOf(l) === caller);
const abandonLine = async (caller: string) => (await router.waitForLog((l) => l.event === 'abandon' && callerOf(l) === caller, 15_000, `abandon for ${caller}`)).abandon as AbandonFields;

function journalAbandons(pred: (d: AbandonDocument) => boolean): AbandonDocument[] {
  const j = new Journal(router.dataDir, { readonly: true });
  try {
    const out: AbandonDocument[] = [];
    for (const row of j.iterate(DateTime.fromMillis(0), DateTime.utc().plus({ days: 2 }), 'abandon')) {
      assert.equal(row.kind, 'abandon');
      const d = JSON.parse(row.json) as AbandonDocument;
      if (pred(d)) out.push(d);
    }
    return out;
  } finally {
    j.close();
  }
}

async function esAbandons(uniqueid: string): Promise<{ index: string; id: string; doc: AbandonDocument }[]> {
  const res = await es.search<AbandonDocument>({ index: `${prefix}-abandons-*`, ignore_unavailable: true, allow_no_indices: true, size: 100, query: { term: { uniqueid } } });
  return res.hits.hits.map((h) => ({ index: h._index, id: h._id!, doc: h._source! }));
}

const json = (s: string) => JSON.parse(s) as Record<string, unknown>;
// Alerts only: a caller reached later (the call-back below) also gets an `abandon.resolved` event, which has no `abandon`.
const webhooksFor = (caller: string) => rx.webhook.requests.filter((r) => json(r.body).event === 'abandon' && (json(r.body).abandon as AbandonFields).caller.raw === caller);
const slacksFor = (caller: string) => rx.slack.requests.filter((r) => String(json(r.body).text).includes(caller));
const telegramsFor = (caller: string) => rx.telegram.requests.filter((r) => String(json(r.body).text).includes(caller));
const mailsFor = (caller: string) => rx.smtp.mails.filter((m) => (mailHeader(m.raw, 'Subject') ?? '').includes(caller));

/** Waits for one notification per channel about `caller`, then a quiet period in which no second one may arrive. */
async function oneNotificationPerChannel(caller: string, settleMs = 2000): Promise<void> {
  await poll(
    () => ({ webhook: webhooksFor(caller).length, slack: slacksFor(caller).length, telegram: telegramsFor(caller).length, email: mailsFor(caller).length }),
    (c) => c.webhook >= 1 && c.slack >= 1 && c.telegram >= 1 && c.email >= 1,
    20_000,
    `a notification on every channel for ${caller}`,
  );
  await new Promise((r) => setTimeout(r, settleMs));
  assert.equal(webhooksFor(caller).length, 1, 'one webhook POST');
  assert.equal(slacksFor(caller).length, 1, 'one Slack request');
  assert.equal(telegramsFor(caller).length, 1, 'one Telegram sendMessage');
  assert.equal(mailsFor(caller).length, 1, 'one e-mail');
}

/** Sent/received times from the caller's own sipp trace. */
function callerClock(trace: string) {
  const tl = sipTimeline(trace);
  const find = (dir: 'sent' | 'received', re: RegExp, cseq?: RegExp) => tl.find((e) => e.dir === dir && re.test(e.firstLine) && (!cseq || cseq.test(e.cseq)));
  return {
    invite: find('sent', /^INVITE /),
    ringing: find('received', /^SIP\/2\.0 180/),
    answered: find('received', /^SIP\/2\.0 200/, /INVITE/),
    bye: find('sent', /^BYE /),
    cancel: find('sent', /^CANCEL /),
  };
}

// ---- 1 ----------------------------------------------------------------------

test('caller waits ~3 s in queue support, nobody answers, hangs up → one abandon record; signed webhook, Slack, Telegram, e-mail; journal and ES', async () => {
  const result = await call('100', QUEUE_CALLER, { talkMs: 3000 });
  assert.equal(result.exitCode, 0, `caller answered by the IVR, waited, hung up: ${result.errors.slice(0, 300)}`);
  const clock = callerClock(result.trace);
  assert.ok(clock.invite && clock.answered && clock.bye, `caller trace has INVITE, 200 and BYE: ${sipTimeline(result.trace).map((e) => `${e.dir} ${e.firstLine}`).join(' | ')}`);
  const answeredToBye = (clock.bye.at - clock.answered.at) / 1000;
  const inviteToBye = (clock.bye.at - clock.invite.at) / 1000;

  const rec = await abandonLine(QUEUE_CALLER);
  assert.equal(rec.source, 'queue');
  assert.equal(rec.queue, 'support');
  assert.equal(rec.did, '100');
  assert.deepEqual(rec.caller, { raw: QUEUE_CALLER, e164: QUEUE_CALLER });
  assert.equal(rec.sticky_agent, undefined, 'no sticky agent: no history');
  assert.equal(rec.position, 1);
  assert.equal(rec.original_position, 1);
  // The record is this call: AMI's QueueCallerAbandon for the caller names the same channel.
  const qca = await ami.waitFor((e) => e.Event === 'QueueCallerAbandon' && e.CallerIDNum === QUEUE_CALLER, 5000, 'QueueCallerAbandon');
  const join = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.Uniqueid === qca.Uniqueid, 5000, 'QueueCallerJoin');
  assert.equal(rec.uniqueid, qca.Uniqueid);
  assert.equal(rec.linkedid, qca.Linkedid);
  const amiInQueue = (ami.at(qca) - ami.at(join)) / 1000;
  // Where the caller's time went, as AMI saw it (this process's receive times).
  const firstSeen = ami.events.find((e) => e.Uniqueid === qca.Uniqueid);
  const up = ami.events.find((e) => e.Event === 'Newstate' && e.Uniqueid === qca.Uniqueid && e.ChannelStateDesc === 'Up');
  const rel = (e: AmiEvent | undefined) => (e ? `${e.Event} +${((ami.at(e) - ami.at(firstSeen!)) / 1000).toFixed(3)} s` : 'missing');
  log(`AMI timeline of ${qca.Uniqueid}: ${[firstSeen, up, join, qca].map(rel).join(', ')}`);
  // Waited vs the caller's own clock (sipp's trace: INVITE sent → BYE sent; the IVR
  // answers within ~20 ms, so answer → BYE is the same to 0.03 s). waited_seconds is
  // whole seconds, rounded: it may be 0.5 s off; 0.25 s more for event delivery.
  // Tolerance: 0.75 s. (Asterisk's HoldTime alone fails this: it counts only the time
  // in Queue(), which starts ~0.5 s after the answer, and truncates to whole seconds.)
  log(`queue abandon: waited_seconds=${rec.waited_seconds} HoldTime=${qca.HoldTime}; caller clock answer→BYE ${answeredToBye.toFixed(3)} s, INVITE→BYE ${inviteToBye.toFixed(3)} s; AMI join→abandon ${amiInQueue.toFixed(3)} s`);
  assert.ok(inviteToBye >= 2.9 && inviteToBye < 4, `the caller was on the line ${inviteToBye} s (talk_ms 3000)`);
  assert.ok(Math.abs(rec.waited_seconds - inviteToBye) <= 0.75, `waited_seconds ${rec.waited_seconds} vs the caller's clock ${inviteToBye.toFixed(3)} s (tolerance 0.75 s)`);
  // At most a moment between the caller's hang-up and the record's time.
  const recAt = Date.parse(rec['@timestamp']);
  assert.ok(Math.abs(recAt - result.endedAt) < 3000, `@timestamp ${rec['@timestamp']} vs caller hung up at ${new Date(result.endedAt).toISOString()}`);

  // Notifications: one per channel, each at its local receiver.
  await oneNotificationPerChannel(QUEUE_CALLER);
  const hook = webhooksFor(QUEUE_CALLER)[0]!;
  assert.equal(hook.method, 'POST');
  assert.equal(hook.url, '/hooks/abandon');
  assert.match(String(hook.headers['content-type']), /^application\/json/);
  const sig = verifyWebhook(rx.secret, hook);
  assert.ok(sig.ok, `signature verifies at the receiver: ${sig.why}`);
  assert.equal(verifyWebhook('a-different-secret-0123456789', hook).ok, false, 'and does not verify with another secret');
  const body = json(hook.body);
  const key = String(hook.headers['idempotency-key'] ?? '');
  assert.match(key, /^abandon-[0-9a-f]{32}-1$/, 'Idempotency-Key');
  assert.equal(body.idempotency_key, key);
  assert.equal(body.group_id, rec.id);
  assert.equal(body.count, 1);
  assert.equal(body.type, 'abandon');
  assert.deepEqual(body.abandon, rec, 'the webhook carries the record as logged');

  const slack = slacksFor(QUEUE_CALLER)[0]!;
  assert.equal(slack.url, '/services/T000/B000/XXXX');
  const slackText = String(json(slack.body).text);
  const summary = `Missed call from ${QUEUE_CALLER} on line 100, queue support, waited ${rec.waited_seconds} s`;
  assert.ok(slackText.startsWith(summary), slackText);
  assert.ok(Array.isArray(json(slack.body).blocks));

  const tg = telegramsFor(QUEUE_CALLER)[0]!;
  assert.equal(tg.url, `/bot${rx.botToken}/sendMessage`);
  const tgBody = json(tg.body);
  assert.equal(tgBody.chat_id, Number(rx.chatId));
  assert.ok(String(tgBody.text).startsWith(summary), String(tgBody.text));
  assert.match(String(tgBody.text), /Sticky agent: none/);

  const mail = mailsFor(QUEUE_CALLER)[0]!;
  assert.deepEqual(mail.to, rx.emailTo);
  assert.equal(mail.from, 'pbx@example.com');
  assert.equal(mailHeader(mail.raw, 'Subject'), summary);
  assert.equal(mailHeader(mail.raw, 'X-Sticky-Idempotency-Key'), key);
  assert.match(mailText(mail.raw), new RegExp(`Call id: ${rec.uniqueid.replace('.', '\\.')}`));

  // Journal (kind 'abandon') and, after shipping, `${prefix}-abandons-yyyy.MM.dd`.
  const inJournal = journalAbandons((d) => d.uniqueid === rec.uniqueid);
  assert.equal(inJournal.length, 1, 'one abandon row in the journal');
  assert.equal(inJournal[0]!.id, rec.id);
  assert.equal(inJournal[0]!.customer_e164, QUEUE_CALLER);
  assert.equal(inJournal[0]!.waited_seconds, rec.waited_seconds);
  const hits = await poll(() => esAbandons(rec.uniqueid), (h) => h.length > 0, 15_000, 'abandon shipped to Elasticsearch');
  assert.equal(hits.length, 1, 'one abandon document');
  assert.equal(hits[0]!.index, `${prefix}-abandons-${DateTime.fromISO(rec['@timestamp'], { zone: 'utc' }).toFormat('yyyy.MM.dd')}`);
  assert.equal(hits[0]!.id, rec.id);
  assert.equal(hits[0]!.doc.source, 'queue');
  assert.equal(hits[0]!.doc.waited_seconds, rec.waited_seconds);

  // Queue abandons are already in queue_log, by Asterisk itself: the router adds no second ABANDON line.
  const ql = await poll(() => queueLogLines().filter((f) => f[1] === rec.uniqueid && f[4] === 'ABANDON'), (l) => l.length > 0, 5000, 'Asterisk ABANDON line');
  assert.equal(ql.length, 1, `one ABANDON line for ${rec.uniqueid}: ${ql.map((f) => f.join('|')).join(' / ')}`);

  assert.equal(abandonLines(QUEUE_CALLER).length, 1, 'exactly one abandon record (log line)');
  await waitChannelsGone();
});

// ---- 2 ----------------------------------------------------------------------

let ringAbandon: AbandonFields | undefined;

test('caller hangs up while the sticky agent rings → one sticky_ring abandon, ENTERQUEUE + ABANDON in queue_log', async () => {
  const agent = await phoneUp('1002', () => startAgent('1002', { answer: false }));
  try {
    const result = await call('100', RING_CALLER, { cancelAfterMs: 2000 });
    assert.equal(result.exitCode, 0, `caller rang, then cancelled: ${result.errors.slice(0, 300)}`);
    const decision = await router.waitForLog((l) => l.event === 'decision' && (l.caller as { raw?: string }).raw === RING_CALLER, 10_000, 'decision');
    assert.equal(decision.reason, 'caller_abandoned');
    assert.equal(decision.agent, '1002');

    const rec = await abandonLine(RING_CALLER);
    ringAbandon = rec;
    assert.equal(rec.source, 'sticky_ring');
    assert.equal(rec.sticky_agent, '1002');
    assert.equal(rec.did, '100');
    assert.equal(rec.queue, undefined);
    // The uniqueid is the caller's channel: the one Dial()ed 1002 from [sticky-ring].
    const dial = await ami.waitFor((e) => e.Event === 'DialBegin' && e.CallerIDNum === RING_CALLER && e.Context === 'sticky-ring', 5000, 'sticky DialBegin');
    assert.equal(rec.uniqueid, dial.Uniqueid);
    // The issue asks for uniqueid and linkedid on every record. If it is missing, say when
    // the router registered the call for ring tracking ('handed off') vs when AMI's
    // DialBegin (which carries Linkedid) arrived.
    const handedOff = router.lines.find((l) => l.msg === 'handed off' && (l.caller as { raw?: string })?.raw === RING_CALLER);
    const handedOffAt = typeof handedOff?.time === 'number' ? handedOff.time : Date.parse(String(handedOff?.time));
    assert.equal(
      rec.linkedid,
      dial.Linkedid,
      `linkedid missing from the sticky_ring record: AMI DialBegin reached this process at ${new Date(ami.at(dial)).toISOString()}, the router logged 'handed off' (ring tracking starts) ${handedOffAt - ami.at(dial)} ms later`,
    );
    const clock = callerClock(result.trace);
    assert.ok(clock.invite && clock.ringing && clock.cancel, 'caller trace has INVITE, 180 and CANCEL');
    const inviteToCancel = (clock.cancel.at - clock.invite.at) / 1000;
    log(`sticky_ring abandon: waited_seconds=${rec.waited_seconds}; caller clock INVITE→CANCEL ${inviteToCancel.toFixed(3)} s, 180→CANCEL ${((clock.cancel.at - clock.ringing.at) / 1000).toFixed(3)} s`);
    assert.ok(Math.abs(rec.waited_seconds - inviteToCancel) <= 0.75, `waited_seconds ${rec.waited_seconds} vs caller clock ${inviteToCancel.toFixed(3)} s (tolerance 0.75 s)`);

    // queue_log: ENTERQUEUE then ABANDON for this uniqueid, written by Asterisk through AMI QueueLog.
    const lines = await poll(
      () => queueLogLines().filter((f) => f[1] === rec.uniqueid),
      (l) => l.some((f) => f[4] === 'ABANDON'),
      10_000,
      `queue_log lines for ${rec.uniqueid}`,
    );
    const shown = lines.map((f) => f.join('|')).join('\n');
    log(`queue_log for ${rec.uniqueid}:\n${shown}`);
    const enter = lines.filter((f) => f[4] === 'ENTERQUEUE');
    const abandon = lines.filter((f) => f[4] === 'ABANDON');
    assert.equal(enter.length, 1, `one ENTERQUEUE line:\n${shown}`);
    assert.equal(abandon.length, 1, `one ABANDON line:\n${shown}`);
    assert.ok(lines.indexOf(enter[0]!) < lines.indexOf(abandon[0]!), 'ENTERQUEUE before ABANDON');
    // time|uniqueid|queue|agent|ABANDON|position|origposition|waited
    const [time, uid, queue, who, ev, pos, orig, waited, ...extra] = abandon[0]!;
    assert.deepEqual(extra, [], 'eight fields');
    assert.match(time!, /^\d{10}$/);
    assert.ok(Math.abs(Number(time) * 1000 - Date.parse(rec['@timestamp'])) <= 3000, `line time ${time} near the abandon ${rec['@timestamp']}`);
    assert.equal(uid, rec.uniqueid);
    assert.equal(queue, 'sticky-router');
    assert.equal(who, 'NONE', "agent NONE, as in Asterisk's own ABANDON lines");
    assert.equal(ev, 'ABANDON');
    assert.equal(pos, '1');
    assert.equal(orig, '1');
    assert.equal(waited, String(rec.waited_seconds));
    // time|uniqueid|queue|NONE|ENTERQUEUE|url|callerid|position: the caller is found through it.
    assert.deepEqual(enter[0]!.slice(1), [rec.uniqueid, 'sticky-router', 'NONE', 'ENTERQUEUE', '', RING_CALLER, '1']);
    // Each line is written when it happens: a reader's wait (ABANDON time − ENTERQUEUE time,
    // whole seconds) is the ring time on the caller's own clock (180 → CANCEL), to ±1 s.
    const readerWait = Number(time) - Number(enter[0]![0]);
    const ringToCancel = (clock.cancel.at - clock.ringing.at) / 1000;
    log(`queue_log reader's wait: ${readerWait} s (ABANDON ${time} − ENTERQUEUE ${enter[0]![0]}); caller clock 180→CANCEL ${ringToCancel.toFixed(3)} s`);
    assert.ok(readerWait >= 1 && Math.abs(readerWait - ringToCancel) <= 1, `reader's wait ${readerWait} s vs caller clock ${ringToCancel.toFixed(3)} s`);

    await oneNotificationPerChannel(RING_CALLER);
    assert.match(String(json(telegramsFor(RING_CALLER)[0]!.body).text), /Sticky agent: 1002 \(the agent they last spoke to\)/);
    assert.match(String(json(telegramsFor(RING_CALLER)[0]!.body).text), /hung up while their agent was ringing/);
    assert.equal(journalAbandons((d) => d.uniqueid === rec.uniqueid).length, 1, 'journaled once');
    assert.equal(abandonLines(RING_CALLER).length, 1, 'exactly one abandon record');
    await waitChannelsGone();
  } finally {
    await agent.stop();
  }
});

// ---- 5 ----------------------------------------------------------------------

test('the abandoned caller calls back inside the window → decision.previousAbandon set, sticky agent 1002 rung first and answers', async () => {
  assert.ok(ringAbandon, "needs test 2's abandon");
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  try {
    const from = router.lines.length;
    const result = await call('100', RING_CALLER, { talkMs: 1500 });
    assert.equal(result.exitCode, 0, `caller answered by 1002: ${result.errors.slice(0, 300)}`);
    const decision = await router.waitForLog((l) => l.event === 'decision' && (l.caller as { raw?: string }).raw === RING_CALLER && router.lines.indexOf(l) >= from, 15_000, 'call-back decision');
    assert.equal(decision.reason, 'sticky_agent');
    assert.equal(decision.agent, '1002');
    assert.equal((decision.ring as { outcome: string }).outcome, 'answered');
    assert.deepEqual(decision.previousAbandon, { at: ringAbandon['@timestamp'], agent: '1002', count: 1, source: 'sticky_ring', did: '100' });
    const { invites } = await agent.stop();
    assert.equal(invites.length, 1, '1002 rung once');
    assert.match(invites[0]!.headers.from ?? '', new RegExp(`sip:\\${RING_CALLER}@`));
    const joins = ami.events.filter((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === RING_CALLER);
    assert.equal(joins.length, 0, 'never queued: the sticky agent took the call');

    // queue_log counts the answered sticky call: ENTERQUEUE, CONNECT, COMPLETECALLER (the caller sent BYE).
    const dial = ami.events.filter((e) => e.Event === 'DialBegin' && e.CallerIDNum === RING_CALLER && e.Context === 'sticky-ring').at(-1)!;
    const lines = await poll(() => queueLogLines().filter((f) => f[1] === dial.Uniqueid), (l) => l.some((f) => f[4] === 'COMPLETECALLER'), 10_000, 'COMPLETECALLER line');
    const shown = lines.map((f) => f.join('|')).join('\n');
    log(`queue_log for the answered call-back ${dial.Uniqueid}:\n${shown}`);
    assert.deepEqual(lines.map((f) => f[4]), ['ENTERQUEUE', 'CONNECT', 'COMPLETECALLER'], shown);
    const [, connect, complete] = lines;
    assert.deepEqual(connect!.slice(2, 5), ['sticky-router', 'PJSIP/1002', 'CONNECT']);
    assert.equal(connect![6], dial.DestUniqueid, "CONNECT names the agent's channel");
    assert.deepEqual(complete!.slice(2, 5), ['sticky-router', 'PJSIP/1002', 'COMPLETECALLER']);
    const talk = Number(complete![6]);
    assert.ok(talk >= 1 && talk <= 3, `talk time ${talk} s (the caller talked 1.5 s)`);
    assert.ok(Math.abs(Number(complete![0]) - Number(connect![0]) - talk) <= 1, 'COMPLETECALLER written at the hang-up, talk time after CONNECT');
    await waitChannelsGone();
  } finally {
    await agent.stop();
  }
});

test('abandoned while the sticky agent rang, history gone since → the abandon alone makes 1002 the first agent tried', async () => {
  const ringer = await phoneUp('1002', () => startAgent('1002', { answer: false }));
  let rec!: AbandonFields;
  try {
    const first = await call('100', ABANDON_ONLY_CALLER, { cancelAfterMs: 1500 });
    assert.equal(first.exitCode, 0);
    rec = await abandonLine(ABANDON_ONLY_CALLER);
    assert.equal(rec.source, 'sticky_ring');
    assert.equal(rec.sticky_agent, '1002');
    await waitChannelsGone();
  } finally {
    await ringer.stop();
  }
  // The conversation that made 1002 sticky is no longer findable: only the abandon remembers it.
  const h = history[ABANDON_ONLY_CALLER]!;
  await es.delete({ index: `${prefix}-${DateTime.fromISO(h['@timestamp']).toUTC().toFormat('yyyy.MM.dd')}`, id: h.id, refresh: true });
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  try {
    const from = router.lines.length;
    const result = await call('100', ABANDON_ONLY_CALLER, { talkMs: 1000 });
    assert.equal(result.exitCode, 0);
    const decision = await router.waitForLog((l) => l.event === 'decision' && (l.caller as { raw?: string }).raw === ABANDON_ONLY_CALLER && router.lines.indexOf(l) >= from, 15_000, 'call-back decision');
    assert.equal(decision.reason, 'sticky_agent');
    assert.equal(decision.agent, '1002');
    assert.equal((decision.lookup as { source?: string }).source, 'abandon', 'chosen because of the abandon');
    assert.deepEqual(decision.previousAbandon, { at: rec['@timestamp'], agent: '1002', count: 1, source: 'sticky_ring', did: '100' });
    const { invites } = await agent.stop();
    assert.equal(invites.length, 1, '1002 rung');
    await waitChannelsGone();
  } finally {
    await agent.stop();
  }
});

// ---- short abandons ------------------------------------------------------------

test('a short abandon (1.5 s on DID 200, SHORT_ABANDON PT5S) is recorded and indexed with short: true and notifies nobody', async () => {
  // 1002's phone from the test before still reads online until a qualify fails; the queue would ring its
  // dead contact, and Asterisk retransmits that INVITE for 32 s, into the next test file's phone.
  await waitEndpointState('1002', 'offline');
  const result = await call('200', SHORT_CALLER, { talkMs: 1500 });
  assert.equal(result.exitCode, 0, result.errors.slice(0, 300));
  const rec = await abandonLine(SHORT_CALLER);
  await waitChannelsGone();
  assert.equal(rec.did, '200');
  assert.equal(rec.short, true);
  assert.ok(rec.waited_seconds < 5, `waited ${rec.waited_seconds} s`);
  const line = router.lines.find((l) => l.event === 'abandon' && callerOf(l) === SHORT_CALLER)!;
  assert.equal(line.msg, 'caller abandoned (short abandon: nobody notified)');
  const journaled = await poll(() => journalAbandons((d) => d.uniqueid === rec.uniqueid), (j) => j.length > 0, 5000, 'short abandon journaled');
  assert.equal(journaled[0]!.short, true, 'journaled with short: true');
  const hits = await poll(() => esAbandons(rec.uniqueid), (h) => h.length > 0, 15_000, 'short abandon shipped to Elasticsearch');
  assert.equal(hits[0]!.doc.short, true);
  const shortInEs = await es.count({ index: `${prefix}-abandons-*`, query: { bool: { filter: [{ term: { short: true } }, { term: { uniqueid: rec.uniqueid } }] } } });
  assert.equal(shortInEs.count, 1, 'searchable as short:true');
  // Nobody is told: give every channel time to deliver (others are delivered within ~1 s here).
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(
    { webhook: webhooksFor(SHORT_CALLER).length, slack: slacksFor(SHORT_CALLER).length, telegram: telegramsFor(SHORT_CALLER).length, email: mailsFor(SHORT_CALLER).length },
    { webhook: 0, slack: 0, telegram: 0, email: 0 },
  );
  await waitChannelsGone();
});

// ---- QUEUE_LOG_STICKY=false ----------------------------------------------------

test('QUEUE_LOG_STICKY=false: an answered sticky call and a ring abandon write no queue_log line; the abandon is still recorded', async () => {
  await router.stop();
  router = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT10S', QUEUE_LOG_STICKY: 'false', ...rx.env });
  const stickyDial = () => ami.events.filter((e) => e.Event === 'DialBegin' && e.CallerIDNum === RING_CALLER && e.Context === 'sticky-ring').at(-1);
  const before = stickyDial()?.Uniqueid;

  let agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  let answered: string | undefined;
  try {
    const result = await call('100', RING_CALLER, { talkMs: 1000 });
    assert.equal(result.exitCode, 0, `caller answered by 1002: ${result.errors.slice(0, 300)}`);
    const decision = await router.waitForLog((l) => l.event === 'decision' && (l.caller as { raw?: string }).raw === RING_CALLER, 15_000, 'decision');
    assert.equal(decision.reason, 'sticky_agent');
    assert.equal((decision.ring as { outcome: string }).outcome, 'answered');
    answered = stickyDial()?.Uniqueid;
    assert.ok(answered && answered !== before, 'the call was dialled from [sticky-ring]');
    await waitChannelsGone();
  } finally {
    await agent.stop();
  }

  agent = await phoneUp('1002', () => startAgent('1002', { answer: false }));
  try {
    const result = await call('100', RING_CALLER, { cancelAfterMs: 2000 });
    assert.equal(result.exitCode, 0, `caller rang, then cancelled: ${result.errors.slice(0, 300)}`);
    const rec = await abandonLine(RING_CALLER);
    assert.equal(rec.source, 'sticky_ring');
    assert.equal(rec.uniqueid, stickyDial()?.Uniqueid);
    await waitChannelsGone();
    // With the default every line above is written at its event (the earlier tests poll for
    // them); by now both calls' lines would be there.
    await new Promise((r) => setTimeout(r, 2000));
    const lines = queueLogLines().filter((f) => f[1] === answered || f[1] === rec.uniqueid);
    assert.deepEqual(lines.map((f) => f.join('|')), [], 'no sticky-router queue_log line for either call');
  } finally {
    await agent.stop();
  }
  await waitEndpointState('1002', 'offline');
});
