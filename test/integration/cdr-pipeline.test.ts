// The learning path end to end on the real PBX: a queue call's AMI Cdr becomes one
// CDR in the router's journal and in Elasticsearch, and the caller's next call goes
// straight to that agent. Each layer of the lookup is shown answering: memory (fed
// by the CDR) right after the call, then Elasticsearch or the journal after a
// restart has emptied memory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@elastic/elasticsearch';
import type { TestCluster } from '../es-double/cluster.js';
import { seededCluster } from '../support/history.js';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent } from '../support/sipp.js';
import { hangupAllChannels, phoneUp, waitChannelsGone, waitEndpointState } from '../support/harness.js';
import { agentStatesLoaded, decisionAfter, esCdrs, journalBacklog, journalCdrs, poll } from '../support/cdr.js';
import { dailyIndex } from '../../src/cdr/index-names.js';

const prefix = `it-cdr-${Date.now()}`;
const caller = '+12025550100';
let cluster: TestCluster;
let es: Client;
let ami: AmiWatch;

before(async () => {
  await hangupAllChannels();
  cluster = await seededCluster(prefix, []);
  es = new Client({ node: cluster.node });
  ami = await watchAmi();
});

after(async () => {
  await ami?.stop();
  await es?.close();
  await cluster?.clean(prefix);
  await cluster?.close();
});

/**
 * Call 1 (no history) → queue support → 1002 answers; its CDR is checked; call 2 →
 * sticky via memory; restart the router on the same DATA_DIR; call 3 → sticky via
 * `restartedSource`.
 */
async function learnThenStick(withEs: boolean): Promise<void> {
  const env: Record<string, string> = withEs ? { ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT8S' } : { AGENT_RING_TIMEOUT: 'PT8S' };
  let router: RouterProcess = await startRouter(env);
  const dataDir = router.dataDir;
  const phone = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  try {
    await waitEndpointState('1001', 'offline');
    await waitEndpointState('1003', 'offline');
    await agentStatesLoaded(router);

    // --- call 1: nothing known → fallback → queue support → 1002 answers
    let from = router.lines.length;
    const first = await call('100', caller, { talkMs: 2000 });
    assert.equal(first.exitCode, 0, `call 1 completed: ${first.errors.slice(0, 300)}`);
    const d1 = await decisionAfter(router, caller, from);
    assert.equal(d1.reason, 'no_history', 'no history yet: the router sent the caller to the fallback');
    const join = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === caller && ami.at(e) >= first.startedAt, 5000, 'QueueCallerJoin');
    assert.equal(join.Queue, 'support');
    const connect = await ami.waitFor((e) => e.Event === 'AgentConnect' && e.Uniqueid === join.Uniqueid, 5000, 'AgentConnect');
    assert.equal(connect.Interface, 'PJSIP/1002');

    // Exactly one CDR for this caller in the journal: agent 1002, talked.
    await poll(() => journalCdrs(dataDir, (d) => d.customer_e164 === caller), (ds) => ds.length >= 1, 10_000, 'the CDR of call 1 in the journal');
    await waitChannelsGone();
    await new Promise((r) => setTimeout(r, 1000)); // any second Cdr of the same call would be in by now
    const cdrs = journalCdrs(dataDir, (d) => d.customer_e164 === caller);
    assert.equal(cdrs.length, 1, `one CDR for ${caller}: ${JSON.stringify(cdrs.map((d) => [d.agent, d.asterisk.dstchannel, d.asterisk.disposition]))}`);
    const cdr = cdrs[0]!;
    assert.equal(cdr.agent, '1002');
    assert.equal(cdr.customer_e164, caller);
    assert.equal(cdr.customer_raw, caller);
    assert.equal(cdr.direction, 'inbound');
    assert.equal(cdr.talked, true);
    assert.ok(cdr.talk_seconds >= 1, `talk_seconds ${cdr.talk_seconds}`);
    assert.equal(cdr.asterisk.uniqueid, join.Uniqueid, "the CDR is the caller's channel's");
    assert.match(cdr.asterisk.dstchannel, /^PJSIP\/1002-[0-9a-f]+$/);
    assert.equal(cdr.asterisk.lastapp, 'Queue');
    assert.equal(cdr.asterisk.disposition, 'ANSWERED');
    assert.equal(cdr.did, '100', 'the router annotated the CDR with the DID it handled');
    assert.equal(cdr.sticky_reason, 'no_history', "and with its decision's reason");
    // No other CDR in the journal names this call (e.g. a separate record for the Stasis leg).
    assert.deepEqual(journalCdrs(dataDir, (d) => d.asterisk.uniqueid === join.Uniqueid).map((d) => d.id), [cdr.id]);

    if (withEs) {
      const hits = await poll(() => esCdrs(es, prefix, { term: { customer_e164: caller } }), (h) => h.length >= 1, 20_000, 'the CDR of call 1 in Elasticsearch');
      assert.equal(hits.length, 1, 'one document in Elasticsearch');
      assert.equal(hits[0]!.id, cdr.id, '_id is the journal record id');
      assert.equal(hits[0]!.index, dailyIndex(prefix, cdr['@timestamp']), 'daily UTC index of its end time');
      assert.equal(hits[0]!.doc.agent, '1002');
      assert.equal(hits[0]!.doc.talked, true);
      assert.equal(hits[0]!.doc.asterisk.uniqueid, join.Uniqueid);
      await poll(() => journalBacklog(dataDir).backlog, (n) => n === 0, 10_000, 'journal backlog 0 after shipping');
    } else {
      assert.equal(journalBacklog(dataDir).backlog, 1, 'without ES_NODE nothing is shipped: the record stays in the journal');
    }

    // --- call 2: the router's memory learned from the CDR
    from = router.lines.length;
    const second = await call('100', caller, { talkMs: 1500 });
    assert.equal(second.exitCode, 0, `call 2 completed: ${second.errors.slice(0, 300)}`);
    const d2 = await decisionAfter(router, caller, from);
    assert.equal(d2.reason, 'sticky_agent', `call 2 decision: ${JSON.stringify(d2)}`);
    assert.equal(d2.agent, '1002');
    assert.equal((d2.lookup as { source: string }).source, 'memory', 'found in memory (learned from the CDR)');
    assert.equal((d2.ring as { outcome: string }).outcome, 'answered');
    const dial2 = await ami.waitFor((e) => e.Event === 'DialBegin' && e.Context === 'sticky-ring' && e.CallerIDNum === caller && ami.at(e) >= second.startedAt, 5000, 'sticky DialBegin (call 2)');
    assert.match(dial2.DestChannel ?? '', /^PJSIP\/1002-/);
    // Its CDR must be in the journal before the router stops, or nobody would ever see it.
    const cdr2 = await poll(
      () => journalCdrs(dataDir, (d) => d.asterisk.uniqueid === dial2.Uniqueid),
      (ds) => ds.length >= 1,
      10_000,
      'the CDR of call 2 in the journal',
    );
    assert.equal(cdr2[0]!.agent, '1002');
    assert.equal(cdr2[0]!.sticky_reason, 'sticky_agent');
    await waitChannelsGone();

    // --- restart: memory is empty; the lower layer must answer
    await router.stop();
    router = await startRouter({ ...env, DATA_DIR: dataDir });
    await agentStatesLoaded(router);
    from = router.lines.length;
    const third = await call('100', caller, { talkMs: 1500 });
    assert.equal(third.exitCode, 0, `call 3 completed: ${third.errors.slice(0, 300)}`);
    const d3 = await decisionAfter(router, caller, from);
    assert.equal(d3.reason, 'sticky_agent', `call 3 decision: ${JSON.stringify(d3)}`);
    assert.equal(d3.agent, '1002');
    assert.equal((d3.lookup as { source: string }).source, withEs ? 'elasticsearch' : 'journal', 'answered by the layer below memory');
    const dial3 = await ami.waitFor((e) => e.Event === 'DialBegin' && e.Context === 'sticky-ring' && e.CallerIDNum === caller && ami.at(e) >= third.startedAt, 5000, 'sticky DialBegin (call 3)');
    assert.match(dial3.DestChannel ?? '', /^PJSIP\/1002-/);
    await waitChannelsGone();

    const { invites } = await phone.stop();
    assert.equal(invites.length, 3, "1002's phone got the queue call and both sticky calls");
    for (const inv of invites) assert.match(inv.headers.from ?? '', /sip:\+12025550100@/);
  } finally {
    await phone.stop();
    await router.stop();
    await hangupAllChannels();
  }
}

test('with ES_NODE: a queue call answered by 1002 is one CDR in the journal and in ES; the next calls stick to 1002 (memory, then ES after a restart)', async () => {
  await learnThenStick(true);
});

test('without ES_NODE (journal only): the same call teaches the router; the next calls stick to 1002 (memory, then the journal after a restart)', async () => {
  await learnThenStick(false);
});

// Known product bug, kept visible: the IVR answers the caller before Queue(), so
// Asterisk's billsec for a queue call counts from the IVR's Answer() and includes
// the time on hold. talk_seconds/talked (src/cdr/from-ami.ts) read billsec, so a
// caller who held 4 s and spoke to the agent for under 1 s "talked" 5 s.
test(
  'a queue call: talk_seconds counts only the time connected to the agent, not the hold in the queue',
  async () => {
    const who = '+12025550109';
    const router = await startRouter({ MIN_TALK_SECONDS: '3' });
    const phone = await phoneUp('1002', () => startAgent('1002', { ringMs: 4000 }));
    try {
      await agentStatesLoaded(router);
      const r = await call('100', who, { talkMs: 5000 });
      assert.equal(r.exitCode, 0);
      const complete = await ami.waitFor((e) => e.Event === 'AgentComplete' && e.CallerIDNum === who, 10_000, 'AgentComplete');
      const [doc] = await poll(() => journalCdrs(router.dataDir, (d) => d.customer_e164 === who), (ds) => ds.length >= 1, 10_000, 'the CDR');
      assert.ok(Number(complete.HoldTime) >= 3, `held ${complete.HoldTime} s in the queue`);
      assert.ok(Number(complete.TalkTime) <= 1, `talked ${complete.TalkTime} s with the agent (AgentComplete)`);
      assert.ok(doc!.talk_seconds <= 2, `CDR talk_seconds ${doc!.talk_seconds} (billsec ${doc!.asterisk.billsec}), but the agent talked ${complete.TalkTime} s`);
      assert.equal(doc!.talked, false, 'under MIN_TALK_SECONDS=3 with the agent: not a conversation');
    } finally {
      await phone.stop();
      await router.stop();
      await hangupAllChannels();
    }
  },
);
