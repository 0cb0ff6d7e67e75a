// The journal → Elasticsearch shipper under faults, with CDRs from real calls:
// an outage while 50 calls complete loses nothing and duplicates nothing, and
// records a stopped router left unshipped are shipped by the next one.
//
// The 50 calls go to DID 999 (plain Dial(PJSIP/1002), the harness's baseline):
// through queue `support` (ringinuse=no) a single agent takes one call at a time,
// which would turn 5 batches of 10 concurrent calls into 50 sequential ones
// (~2 min). The CDRs have the same shape (trunk → PJSIP/1002-…, talked).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@elastic/elasticsearch';
import { testCluster, type TestCluster } from '../es-double/cluster.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent, type Agent } from '../support/sipp.js';
import { hangupAllChannels, phoneUp, waitChannelsGone } from '../support/harness.js';
import { esCdrs, journalBacklog, journalCdrs, poll } from '../support/cdr.js';
import { installTemplate } from '../../src/cdr/index-template.js';
import type { CdrDocument } from '../../src/cdr/schema.js';

const prefix = `it-cdr-ship-${Date.now()}`;
let cluster: TestCluster;
let es: Client;
let phone: Agent;

before(async () => {
  await hangupAllChannels();
  cluster = await testCluster();
  es = new Client({ node: cluster.node });
  await installTemplate(es, prefix);
  phone = await phoneUp('1002', () => startAgent('1002', { ringMs: 100 }));
});

after(async () => {
  await phone?.stop();
  await hangupAllChannels();
  await es?.close();
  await cluster?.clean(prefix);
  await cluster?.close();
});

const numbers = (base: number, n: number) => Array.from({ length: n }, (_, i) => `+1202555${String(base + i).padStart(4, '0')}`);

/** Places the calls to DID 999 in concurrent batches; every one must be answered by 1002 and complete. */
async function placeCalls(callers: string[], batch: number, talkMs: number): Promise<void> {
  for (let i = 0; i < callers.length; i += batch) {
    const results = await Promise.all(callers.slice(i, i + batch).map((c) => call('999', c, { talkMs, timeoutS: 30 })));
    results.forEach((r, k) => assert.equal(r.exitCode, 0, `call from ${callers[i + k]} completed: ${r.errors.slice(0, 300)}`));
  }
  await waitChannelsGone(15_000);
}

const inSet = (callers: string[]) => {
  const s = new Set(callers);
  return (d: CdrDocument) => d.customer_e164 !== undefined && s.has(d.customer_e164);
};

/** The CDRs of `callers` in ES, checked for duplicates both by _id and by Asterisk's uniqueid. */
async function shippedExactlyOnce(callers: string[], timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const query = { terms: { customer_e164: callers } };
  await poll(() => esCdrs(es, prefix, query), (h) => h.length >= callers.length, timeoutMs, `${callers.length} CDRs in Elasticsearch`, 500);
  const took = Date.now() - t0;
  // Whatever is still in flight (a resend) has landed by now.
  await new Promise((r) => setTimeout(r, 1500));
  const final = await esCdrs(es, prefix, query);
  assert.equal(final.length, callers.length, `exactly ${callers.length} documents, got ${final.length}`);
  assert.equal(new Set(final.map((h) => `${h.index}/${h.id}`)).size, callers.length, 'no _id twice');
  assert.equal(new Set(final.map((h) => h.id)).size, callers.length, 'no _id twice across daily indices');
  assert.equal(new Set(final.map((h) => h.doc.asterisk.uniqueid)).size, callers.length, 'no Asterisk uniqueid twice');
  assert.deepEqual(new Set(final.map((h) => h.doc.customer_e164)), new Set(callers), 'one per caller');
  for (const h of final) {
    assert.equal(h.doc.agent, '1002');
    assert.equal(h.doc.talked, true);
    assert.equal(h.id, h.doc.id);
  }
  return took;
}

test('Elasticsearch down while 50 calls complete, then up: all 50 CDRs arrive, none twice', async (t) => {
  if (!cluster.double) return t.skip('needs the Elasticsearch double to take the cluster down (ES_TEST_NODE points at a real cluster)');
  const double = cluster.double;
  const callers = numbers(7000, 50);
  const router = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix });
  try {
    await double.setDown(true);
    const downAt = Date.now();
    await placeCalls(callers, 10, 1000);
    const journaled = await poll(() => journalCdrs(router.dataDir, inSet(callers)), (ds) => ds.length >= 50, 15_000, '50 CDRs in the journal');
    assert.equal(journaled.length, 50, 'one CDR per call in the journal');
    assert.ok(journaled.every((d) => d.agent === '1002' && d.talked && d.asterisk.dstchannel.startsWith('PJSIP/1002-')));
    const { backlog, unshippedIds } = journalBacklog(router.dataDir);
    assert.ok(backlog >= 50, `journal backlog ${backlog}`);
    for (const d of journaled) assert.ok(unshippedIds.has(d.id), `${d.id} waits to be shipped`);
    // The log line comes through the router's stdout pipe: wait for it rather than read it once.
    await router.waitForLog((l) => l.msg === 'cdr shipping failed; will retry', 10_000, 'the shipper tried and failed while the cluster was down');
    assert.equal(double.docs(`${prefix}-*`).length, 0, 'nothing reached the cluster');

    const upAt = Date.now();
    await double.setDown(false);
    // The shipper is in exponential backoff (cap 30 s) by now: allow for a full cap.
    const took = await shippedExactlyOnce(callers, 45_000);
    t.diagnostic(`outage ${upAt - downAt} ms; all 50 in Elasticsearch ${took} ms after the cluster came back`);
    await poll(() => journalBacklog(router.dataDir).backlog, (n) => n === 0, 10_000, 'journal backlog 0');
    // At-least-once on the wire is fine; the ids make it exactly-once in the index.
    const sent = double.requests
      .filter((r) => r.method === 'POST' && r.path.endsWith('/_bulk') && Array.isArray(r.body))
      .flatMap((r) => (r.body as Record<string, { _id?: string }>[]).filter((l) => l.index).map((l) => l.index!._id));
    const ours = new Set(journaled.map((d) => d.id));
    t.diagnostic(`bulk index actions the cluster received for these CDRs: ${sent.filter((id) => id && ours.has(id)).length}`);
  } finally {
    await double.setDown(false);
    await router.stop();
  }
});

test('router stopped with unshipped records in the journal → a new router on the same DATA_DIR ships them', async (t) => {
  const double = cluster.double;
  const callers = numbers(7100, 5);
  // With the double: the cluster is down while the first router runs. Against a
  // real cluster (no fault injection) the first router runs without ES_NODE.
  const first = await startRouter(double ? { ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix } : {});
  if (!double) t.diagnostic('ES_TEST_NODE: the first router runs without ES_NODE instead of against a downed cluster');
  const dataDir = first.dataDir;
  let second: RouterProcess | undefined;
  try {
    await double?.setDown(true);
    await placeCalls(callers, 5, 1000);
    const journaled = await poll(() => journalCdrs(dataDir, inSet(callers)), (ds) => ds.length >= callers.length, 10_000, 'CDRs in the journal');
    assert.equal(first.proc.exitCode, null);
    assert.equal(await first.stop(), 0, 'the first router stopped cleanly');

    const { backlog, unshippedIds } = journalBacklog(dataDir);
    assert.ok(backlog >= callers.length, `journal backlog ${backlog} after the stop`);
    for (const d of journaled) assert.ok(unshippedIds.has(d.id), `${d.id} is unshipped after the stop`);
    const inEs = double ? double.docs(`${prefix}-*`).filter((d) => callers.includes(String(d.source.customer_e164))) : await esCdrs(es, prefix, { terms: { customer_e164: callers } });
    assert.equal(inEs.length, 0, 'none of them reached the cluster before the restart');

    await double?.setDown(false);
    const bulksBefore = double?.requests.filter((r) => r.path.endsWith('/_bulk')).length ?? 0;
    second = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, DATA_DIR: dataDir });
    const took = await shippedExactlyOnce(callers, 20_000);
    t.diagnostic(`shipped ${took} ms after the second router started`);
    await poll(() => journalBacklog(dataDir).backlog, (n) => n === 0, 10_000, 'journal backlog 0 after the second router shipped');
    if (double) assert.ok(double.requests.filter((r) => r.path.endsWith('/_bulk')).length > bulksBefore, 'the second router sent them');
  } finally {
    await double?.setDown(false);
    await first.stop();
    await second?.stop();
  }
});
