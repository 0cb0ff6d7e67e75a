// Nothing lost while the router is down (issue 12): calls placed while no router
// runs reach Asterisk's own CDR store and queue_log; the next router reads them
// back at start, under the same ids as the AMI path (nothing twice), learns the
// caller's agent from them, and records and notifies the queue abandon late.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent, type Agent } from '../support/sipp.js';
import { backfillEnv, hangupAllChannels, waitEndpointState } from '../support/harness.js';
import { decisionAfter, journalCdrs, poll } from '../support/cdr.js';
import { startNotifyReceivers, type NotifyReceivers } from '../support/notify-receivers.js';
import { cdrFromAmiEvent } from '../../src/cdr/from-ami.js';
import { Journal } from '../../src/cdr/journal.js';
import { abandonId, type AbandonDocument } from '../../src/abandon/record.js';

// Numbers of this run only: Asterisk's store keeps every earlier run's calls, and a first start reads the last day.
const run = String(Date.now() % 10_000).padStart(4, '0');
const BEFORE = `+120255${run}1`; // talks to 1001 while the first router runs
const DOWN = `+120255${run}2`; // talks to 1001 while no router runs
const ABANDONS = `+120255${run}3`; // gives up in the queue while no router runs
let ami: AmiWatch;
let rx: NotifyReceivers;
let router: RouterProcess | undefined;
let agent: Agent | undefined;
const log = (...a: unknown[]) => console.error('#', ...a);

before(async () => {
  await hangupAllChannels();
  ami = await watchAmi();
  rx = await startNotifyReceivers();
});

after(async () => {
  await router?.stop();
  await agent?.stop();
  await ami?.stop();
  await rx?.close();
});

const cdrsOf = (caller: string) => ami.events.filter((e) => e.Event === 'Cdr' && e.Source === caller);
const ids = (caller: string) => cdrsOf(caller).map((e) => cdrFromAmiEvent(e, { minTalkSeconds: () => 1 })!.id).sort();

function journalAbandons(dataDir: string): AbandonDocument[] {
  const j = new Journal(dataDir, { readonly: true });
  try {
    return [...j.iterate(DateTime.fromMillis(0), DateTime.utc().plus({ days: 1 }), 'abandon')].map((r) => JSON.parse(r.json) as AbandonDocument);
  } finally {
    j.close();
  }
}

// The abandoning caller waits 3 s: below the default SHORT_ABANDON (PT5S), which would notify nobody.
const notifyEvery = { SHORT_ABANDON: 'PT0S' };

test('calls placed while the router is down are read back at its next start, once each, and route the caller to their agent', async () => {
  agent = await startAgent('1001', { ringMs: 200 });
  await waitEndpointState('1001', 'online');
  router = await startRouter({ ...backfillEnv, ...rx.env, ...notifyEvery, BACKFILL_INTERVAL: 'PT1H' });
  await router.waitForLog((l) => l.msg === 'sticky-router started', 30_000);
  const dataDir = router.dataDir;

  // Live: learned from AMI.
  const first = await call('100', BEFORE, { talkMs: 1500 });
  assert.equal(first.exitCode, 0, first.errors);
  await poll(() => journalCdrs(dataDir, (d) => d.customer_e164 === BEFORE), (d) => d.length >= 1, 10_000, 'live CDR journaled');

  // The router dies; calls go on through the dialplan's fallback (queue support).
  assert.equal(await router.stop('SIGKILL'), null);
  const down = await call('100', DOWN, { talkMs: 1500 });
  assert.equal(down.exitCode, 0, down.errors);
  await agent.stop();
  agent = undefined;
  await waitEndpointState('1001', 'offline', 20_000);
  const gaveUp = await call('100', ABANDONS, { talkMs: 3000 });
  assert.equal(gaveUp.exitCode, 0, gaveUp.errors);
  const abandonEvent = await ami.waitFor((e) => e.Event === 'QueueCallerAbandon' && e.CallerIDNum === ABANDONS, 15_000, 'QueueCallerAbandon');
  await ami.waitFor((e) => e.Event === 'Cdr' && e.Source === ABANDONS, 10_000, 'Cdr of the abandoned call');
  await ami.waitFor((e) => e.Event === 'Cdr' && e.Source === DOWN, 10_000, 'Cdr of the call while down');
  assert.equal(journalCdrs(dataDir, (d) => d.customer_e164 === DOWN).length, 0, 'precondition: nothing journaled while down');

  // A new router over the same DATA_DIR.
  agent = await startAgent('1001', { ringMs: 200 });
  router = await startRouter({ ...backfillEnv, ...rx.env, ...notifyEvery, DATA_DIR: dataDir, BACKFILL_INTERVAL: 'PT1H' });
  await router.waitForLog((l) => l.msg === 'sticky-router started', 30_000);
  const readBack = router.lines.find((l) => l.msg === 'cdrs that AMI had not delivered read back from the cdr store');
  if (!readBack) log(router.lines.filter((l) => l.component === 'backfill' || l.level === 'error' || l.level === 50 || l.level === 40).map((l) => JSON.stringify(l)).join('\n'));
  assert.ok(readBack, 'the start logs what it read back');
  log('read back', readBack.learned, 'of', readBack.read);

  for (const caller of [BEFORE, DOWN, ABANDONS]) {
    const journaled = journalCdrs(dataDir, (d) => d.asterisk.src === caller).map((d) => d.id).sort();
    assert.deepEqual(journaled, ids(caller), `${caller}: the journal holds exactly the CDRs Asterisk emitted, each once, under the AMI path's ids`);
  }
  const downDoc = journalCdrs(dataDir, (d) => d.customer_e164 === DOWN)[0]!;
  assert.equal(downDoc.agent, '1001');
  assert.equal(downDoc.talked, true);
  // Times from the store's epoch columns agree with the AMI event's end (whole seconds).
  const amiEnd = Number(cdrsOf(DOWN)[0]!.Timestamp ?? NaN);
  if (Number.isFinite(amiEnd)) assert.ok(Math.abs(Date.parse(downDoc['@timestamp']) - amiEnd * 1000) < 2000, `end ${downDoc['@timestamp']} vs AMI Timestamp ${amiEnd}`);

  // The queue abandon: recorded once, marked late, notified.
  const abandons = journalAbandons(dataDir).filter((a) => a.caller.raw === ABANDONS);
  assert.equal(abandons.length, 1, 'one abandon record');
  assert.equal(abandons[0]!.late, true);
  assert.equal(abandons[0]!.id, abandonId(String(abandonEvent.Uniqueid), 'queue'), 'same id as the AMI path');
  assert.equal(abandons[0]!.queue, 'support');
  const hook = await poll(() => rx.webhook.requests.filter((r) => r.rawBody.includes(ABANDONS)), (r) => r.length >= 1, 15_000, 'late abandon webhook');
  assert.match(hook[0]!.rawBody, /Reported late/);
  assert.match(hook[0]!.rawBody, /"late":true/);

  // The caller who talked to 1001 while the router was down is routed to 1001.
  await waitEndpointState('1001', 'online', 20_000);
  const t0 = router.lines.length;
  const back = await call('100', DOWN, { talkMs: 500 });
  assert.equal(back.exitCode, 0, back.errors);
  const decision = await decisionAfter(router, DOWN, t0);
  assert.equal(decision.reason, 'sticky_agent');
  assert.equal(decision.agent, '1001');

  // A second start reads nothing again (the row number is remembered).
  await router.stop();
  router = await startRouter({ ...backfillEnv, ...rx.env, ...notifyEvery, DATA_DIR: dataDir, BACKFILL_INTERVAL: 'PT1H' });
  await router.waitForLog((l) => l.msg === 'sticky-router started', 30_000);
  await new Promise((r) => setTimeout(r, 7000)); // past the live path's settle time
  for (const caller of [BEFORE, DOWN, ABANDONS]) assert.deepEqual(journalCdrs(dataDir, (d) => d.asterisk.src === caller).map((d) => d.id).sort(), ids(caller), `${caller}: still once each`);
  assert.equal(journalAbandons(dataDir).filter((a) => a.caller.raw === ABANDONS).length, 1);
  assert.equal(rx.webhook.requests.filter((r) => r.rawBody.includes(ABANDONS)).length, 1, 'the late abandon is notified once');
});
