// An agent's own outbound call teaches the router too: agent 1002 dials a customer
// (from-agents → PJSIP/<number>@trunk → a sipp UAS on 5090 plays the customer), and
// when that customer calls back on DID 100 the router rings 1002.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@elastic/elasticsearch';
import type { TestCluster } from '../es-double/cluster.js';
import { seededCluster } from '../support/history.js';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { agentDialsOut, call, startAgent, startCustomerPhone } from '../support/sipp.js';
import { hangupAllChannels, phoneUp, waitChannelsGone } from '../support/harness.js';
import { agentStatesLoaded, decisionAfter, esCdrs, journalCdrs, poll } from '../support/cdr.js';

const prefix = `it-cdr-out-${Date.now()}`;
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

/** 1002 dials `dialled`; returns the outbound call's AMI Cdr after checking its shape. */
async function agentCallsCustomer(dialled: string, talkMs = 2500) {
  const t0 = Date.now();
  const out = await agentDialsOut('1002', dialled, { talkMs });
  assert.equal(out.exitCode, 0, `1002's outbound call completed: ${out.errors.slice(0, 300)}`);
  const cdr = await ami.waitFor(
    (e) => e.Event === 'Cdr' && /^PJSIP\/1002-/.test(e.Channel ?? '') && e.Destination === dialled && ami.at(e) >= t0,
    10_000,
    `Cdr of 1002's call to ${dialled}`,
  );
  // What Asterisk reports for an agent's outbound call.
  assert.match(cdr.Channel ?? '', /^PJSIP\/1002-[0-9a-f]+$/);
  assert.match(cdr.DestinationChannel ?? '', /^PJSIP\/trunk-[0-9a-f]+$/);
  assert.equal(cdr.Source, '1002', "the agent endpoint's caller ID, not the customer");
  assert.equal(cdr.Destination, dialled, 'the number as dialled');
  assert.equal(cdr.DestinationContext, 'from-agents');
  assert.equal(cdr.LastApplication, 'Dial');
  assert.equal(cdr.LastData, `PJSIP/${dialled}@trunk,60`);
  assert.equal(cdr.Disposition, 'ANSWERED');
  assert.ok(Number(cdr.BillableSeconds) >= 2, `billsec ${cdr.BillableSeconds}`);
  return cdr;
}

async function withPhones(fn: () => Promise<void>): Promise<{ agentInvites: string[]; customerInvites: string[] }> {
  const customer = await startCustomerPhone({ ringMs: 200 });
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  try {
    await fn();
    await waitChannelsGone();
    const a = await agent.stop();
    const c = await customer.stop();
    return { agentInvites: a.invites.map((m) => m.firstLine + ' ' + (m.headers.from ?? '')), customerInvites: c.invites.map((m) => m.firstLine) };
  } finally {
    await agent.stop();
    await customer.stop();
    await hangupAllChannels();
  }
}

test("1002 calls +12025550177 out through the trunk → the customer's next inbound call sticks to 1002 (memory, then ES after a restart)", async () => {
  const customer = '+12025550177';
  const env = { ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT8S' };
  let router: RouterProcess = await startRouter(env);
  const dataDir = router.dataDir;
  try {
    const phones = await withPhones(async () => {
      await agentStatesLoaded(router);
      const cdrEvent = await agentCallsCustomer(customer);

      const [doc] = await poll(() => journalCdrs(dataDir, (d) => d.asterisk.uniqueid === cdrEvent.UniqueID), (ds) => ds.length >= 1, 10_000, 'outbound CDR in the journal');
      assert.equal(doc!.direction, 'outbound');
      assert.equal(doc!.agent, '1002');
      assert.equal(doc!.customer_e164, customer, "the dialled number is the customer's E.164");
      assert.equal(doc!.customer_raw, customer);
      assert.equal(doc!.talked, true);
      assert.ok(doc!.talk_seconds >= 2);
      assert.equal(doc!.sticky_reason, undefined, 'the router did not handle this call');
      const hits = await poll(() => esCdrs(es, prefix, { term: { customer_e164: customer } }), (h) => h.length >= 1, 20_000, 'outbound CDR in Elasticsearch');
      assert.equal(hits.length, 1);
      assert.equal(hits[0]!.id, doc!.id);
      assert.equal(hits[0]!.doc.direction, 'outbound');
      assert.equal(hits[0]!.doc.agent, '1002');

      // The customer calls back: E.164 caller ID = the number the agent dialled.
      let from = router.lines.length;
      const back = await call('100', customer, { talkMs: 1500 });
      assert.equal(back.exitCode, 0, `callback completed: ${back.errors.slice(0, 300)}`);
      const d = await decisionAfter(router, customer, from);
      assert.equal(d.reason, 'sticky_agent', JSON.stringify(d));
      assert.equal(d.agent, '1002');
      assert.equal((d.lookup as { source: string }).source, 'memory');
      const dial = await ami.waitFor((e) => e.Event === 'DialBegin' && e.Context === 'sticky-ring' && e.CallerIDNum === customer && ami.at(e) >= back.startedAt, 5000, 'sticky DialBegin');
      assert.match(dial.DestChannel ?? '', /^PJSIP\/1002-/);
      await poll(() => journalCdrs(dataDir, (x) => x.asterisk.uniqueid === dial.Uniqueid), (ds) => ds.length >= 1, 10_000, "the callback's CDR in the journal");
      await waitChannelsGone();

      // Restarted: memory is empty; Elasticsearch holds the outbound CDR (and the callback's).
      await router.stop();
      router = await startRouter({ ...env, DATA_DIR: dataDir });
      await agentStatesLoaded(router);
      from = router.lines.length;
      const again = await call('100', customer, { talkMs: 1000 });
      assert.equal(again.exitCode, 0);
      const d2 = await decisionAfter(router, customer, from);
      assert.equal(d2.reason, 'sticky_agent', JSON.stringify(d2));
      assert.equal(d2.agent, '1002');
      assert.equal((d2.lookup as { source: string }).source, 'elasticsearch');
    });
    assert.deepEqual(phones.customerInvites, [`INVITE sip:${customer}@127.0.0.1:5090 SIP/2.0`], 'the customer phone behind the trunk got the one outbound INVITE');
    assert.equal(phones.agentInvites.length, 2, `1002's phone got only the two sticky callbacks: ${JSON.stringify(phones.agentInvites)}`);
    for (const inv of phones.agentInvites) assert.match(inv, /sip:\+12025550177@/);
  } finally {
    await router.stop();
  }
});

test('1002 dials a national number (2025550188) with DEFAULT_COUNTRY=US, journal only → the callback from +12025550188 sticks to 1002 from the journal', async () => {
  const env = { DEFAULT_COUNTRY: 'US', AGENT_RING_TIMEOUT: 'PT8S' };
  let router: RouterProcess = await startRouter(env);
  const dataDir = router.dataDir;
  try {
    await withPhones(async () => {
      await agentStatesLoaded(router);
      const cdrEvent = await agentCallsCustomer('2025550188');
      const [doc] = await poll(() => journalCdrs(dataDir, (d) => d.asterisk.uniqueid === cdrEvent.UniqueID), (ds) => ds.length >= 1, 10_000, 'outbound CDR in the journal');
      assert.equal(doc!.direction, 'outbound');
      assert.equal(doc!.customer_raw, '2025550188');
      assert.equal(doc!.customer_e164, '+12025550188', 'the national number normalised with DEFAULT_COUNTRY');
      assert.equal(doc!.talked, true);
      // Restart first: the journal alone must make the match.
      await router.stop();
      router = await startRouter({ ...env, DATA_DIR: dataDir });
      await agentStatesLoaded(router);
      const from = router.lines.length;
      const back = await call('100', '+12025550188', { talkMs: 1000 });
      assert.equal(back.exitCode, 0);
      const d = await decisionAfter(router, '+12025550188', from);
      assert.equal(d.reason, 'sticky_agent', JSON.stringify(d));
      assert.equal(d.agent, '1002');
      assert.equal((d.lookup as { source: string }).source, 'journal');
    });
  } finally {
    await router.stop();
  }
});
