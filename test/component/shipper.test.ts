import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { installTemplate } from '../../src/cdr/index-template.js';
import { Journal } from '../../src/cdr/journal.js';
import { Shipper, type ShipperOptions } from '../../src/cdr/shipper.js';
import { testCluster, type TestCluster } from '../es-double/cluster.js';
import { makeCdr } from '../support/fixtures/cdrs.js';

let cluster: TestCluster;
let client: Client;
let dir: string;
const log = pino({ level: 'silent' });
const base = `t-ship-${process.pid}`;
let n = 0;

before(async () => {
  cluster = await testCluster();
  client = new Client({ node: cluster.node, requestTimeout: 5000 });
  dir = mkdtempSync(join(tmpdir(), 'shipper-test-'));
});
after(async () => {
  await client.close();
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh prefix (cleaned up at the end), with the template installed, and a fresh journal. */
async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const prefix = `${base}-${++n}`;
  await cluster.clean(prefix);
  await installTemplate(client, prefix);
  const journal = new Journal(join(dir, prefix));
  t.after(async () => {
    journal.close();
    await cluster.clean(prefix);
  });
  const shipper = (o: Partial<ShipperOptions> = {}) =>
    new Shipper({ journal, client, prefix, log, retryBaseMs: 50, retryCapMs: 200, idlePollMs: 10_000, ...o });
  return { prefix, journal, shipper };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every document in the prefix's indices: [total hits, distinct _ids]. */
async function countById(prefix: string): Promise<{ total: number; ids: Set<string> }> {
  await client.indices.refresh({ index: `${prefix}-*` });
  const ids = new Set<string>();
  let total = 0;
  for await (const page of client.helpers.scrollSearch({ index: `${prefix}-*`, size: 1000, _source: false, query: { match_all: {} } })) {
    for (const h of page.body.hits.hits) {
      total++;
      if (h._id) ids.add(h._id);
    }
  }
  return { total, ids };
}

test('ships appended records promptly on notify(), into daily indices by @timestamp, with _id = id', async (t) => {
  const { prefix, journal, shipper } = await setup(t);
  const s = shipper();
  s.start();
  t.after(() => s.stop());
  const docs = [makeCdr(1, { start: Date.UTC(2025, 5, 1, 23, 59, 58) }), makeCdr(3, { start: Date.UTC(2025, 5, 1, 23, 59, 58) })];
  const started = Date.now();
  journal.appendMany(docs);
  s.notify();
  await until('backlog 0', () => journal.backlog() === 0);
  assert.ok(Date.now() - started < 2000, 'woke on notify, not on the 10 s idle poll');
  const a = await client.get<{ id: string }>({ index: `${prefix}-2025.06.01`, id: docs[0]?.id ?? '' });
  assert.equal(a._source?.id, docs[0]?.id);
  const b = await client.get({ index: `${prefix}-2025.06.02`, id: docs[1]?.id ?? '' });
  assert.equal(b.found, true, 'a call ending after midnight goes to the next day’s index');
  assert.equal(s.stats.shipped, 2);
  assert.equal(s.stats.errors, 0);
});

test('cluster down while 50 records are appended, then up: all 50 arrive exactly once', async (t) => {
  const double = cluster.double;
  if (!double) return t.skip('outage injection needs the double');
  const { prefix, journal, shipper } = await setup(t);
  const s = shipper();
  s.start();
  t.after(() => s.stop());
  await double.setDown(true);
  try {
    for (let i = 0; i < 50; i++) {
      journal.append(makeCdr(i));
      s.notify();
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 60));
    }
    await until('a failed attempt', () => s.stats.errors >= 2);
    assert.equal(s.stats.shipped, 0);
    assert.equal(journal.backlog(), 50);
    assert.match(s.stats.lastError ?? '', /ConnectionError/);
  } finally {
    await double.setDown(false);
  }
  await until('backlog 0 after the outage', () => journal.backlog() === 0);
  assert.equal(s.stats.backlog, 0);
  const { total, ids } = await countById(prefix);
  assert.equal(total, 50);
  assert.deepEqual([...ids].sort(), Array.from({ length: 50 }, (_, i) => makeCdr(i).id).sort());
});

test('a resend is idempotent: the same records shipped twice are still one document each', async (t) => {
  const { prefix, journal, shipper } = await setup(t);
  journal.appendMany(Array.from({ length: 20 }, (_, i) => makeCdr(i)));
  const first = shipper();
  first.start();
  await until('shipped', () => journal.backlog() === 0);
  await first.stop();
  // As if the acknowledgement had been lost: the journal forgets they were shipped.
  const again = new Journal(join(dir, `${prefix}-copy`));
  t.after(() => again.close());
  again.appendMany(Array.from({ length: 20 }, (_, i) => makeCdr(i)));
  const second = new Shipper({ journal: again, client, prefix, log });
  second.start();
  await until('re-shipped', () => again.backlog() === 0);
  await second.stop();
  const { total, ids } = await countById(prefix);
  assert.equal(total, 20);
  assert.equal(ids.size, 20);
});

test('a new Shipper over a journal with unshipped records (a restart) ships them', async (t) => {
  const { prefix, journal } = await setup(t);
  journal.appendMany(Array.from({ length: 2500 }, (_, i) => makeCdr(i, { stepMs: 100 })));
  const path = join(dir, prefix);
  journal.close();
  const reopened = new Journal(path);
  t.after(() => reopened.close());
  assert.equal(reopened.backlog(), 2500);
  const s = new Shipper({ journal: reopened, client, prefix, log, batchSize: 1000 });
  s.start();
  await until('backlog 0', () => reopened.backlog() === 0, 30_000);
  await s.stop();
  assert.equal(s.stats.shipped, 2500);
  assert.equal((await countById(prefix)).total, 2500);
});

test('a record the cluster refuses for good is set aside; the ones behind it still ship', async (t) => {
  const { prefix, journal, shipper } = await setup(t);
  const bad = { ...makeCdr(0), talk_seconds: 'not a number' as unknown as number };
  journal.appendMany([bad, makeCdr(1), makeCdr(2)]);
  const s = shipper();
  s.start();
  t.after(() => s.stop());
  await until('backlog 0', () => journal.backlog() === 0);
  assert.equal(s.stats.shipped, 2);
  assert.equal(s.stats.rejected, 1);
  assert.equal(journal.rejected(), 1);
  assert.equal((await countById(prefix)).total, 2);
});

test('stop() lets the batch in flight finish and record its result', async (t) => {
  const double = cluster.double;
  if (!double) return t.skip('latency injection needs the double');
  const { journal, shipper } = await setup(t);
  journal.appendMany(Array.from({ length: 30 }, (_, i) => makeCdr(i)));
  double.setLatency(300);
  try {
    const s = shipper();
    s.start();
    await until('the bulk request is in flight', () => double.requests.some((r) => r.path.endsWith('/_bulk')), 5000);
    await s.stop();
    assert.equal(journal.backlog(), 0, 'the in-flight batch was marked shipped before stop() resolved');
    assert.equal(s.stats.shipped, 30);
  } finally {
    double.setLatency(0);
  }
});

test('prunes shipped records past the retention, never unshipped ones', async (t) => {
  const { journal, shipper } = await setup(t);
  journal.appendMany(Array.from({ length: 10 }, (_, i) => makeCdr(i)));
  let now = DateTime.utc();
  const s = shipper({ retentionMs: 7 * 86_400_000, pruneEveryMs: 1, now: () => now });
  s.start();
  await until('shipped', () => journal.backlog() === 0);
  journal.append(makeCdr(100)); // unshipped (no notify) when the clock jumps
  now = now.plus({ days: 8 });
  s.notify();
  await until('pruned', () => [...journal.iterate(DateTime.fromMillis(0), DateTime.utc().plus({ years: 1 }))].length <= 1);
  await s.stop();
  const left = [...journal.iterate(DateTime.fromMillis(0), DateTime.utc().plus({ years: 1 }))];
  assert.equal(left.length, 1);
  assert.equal(left[0]?.id, makeCdr(100).id);
});

test('a cluster that was down at start gets the index templates before the first bulk creates a daily index (numbers stay keywords)', async (t) => {
  const prefix = `${base}-${++n}`;
  await cluster.clean(prefix);
  const journal = new Journal(join(dir, prefix));
  t.after(async () => {
    journal.close();
    await cluster.clean(prefix);
    for (const name of [`${prefix}-sticky-router`, `${prefix}-abandons-sticky-router`]) await client.indices.deleteIndexTemplate({ name }, { ignore: [404] });
  });
  const { installTemplates } = await import('../../src/cdr/index-template.js');
  const double = cluster.double;
  if (!double) return t.skip('needs the double (setDown): ES_TEST_NODE points at a real cluster');
  await double.setDown(true);
  let ensured = 0;
  const shipper = new Shipper({ journal, client, prefix, log, retryBaseMs: 50, retryCapMs: 200, idlePollMs: 10_000, ensureTemplates: async () => { ensured++; return installTemplates(client, prefix); } });
  shipper.start();
  // An E.164 number and one with a leading zero: dynamic mapping would make them text / long.
  const doc = { ...makeCdr(1), customer_e164: '+380501234567', asterisk: { ...makeCdr(1).asterisk, src: '0961234567' } };
  journal.append(doc);
  shipper.notify();
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(ensured >= 1, 'tried the templates while down');
  assert.equal(journal.backlog(), 1, 'nothing shipped without templates');
  await double.setDown(false);
  await until('shipped', () => journal.backlog() === 0);
  await shipper.stop();
  const mapping = await client.indices.getMapping({ index: `${prefix}-*` });
  const props = Object.values(mapping)[0]!.mappings.properties as Record<string, { type?: string; properties?: Record<string, { type?: string }> }>;
  assert.equal(props.customer_e164?.type, 'keyword');
  assert.equal(props.asterisk?.properties?.src?.type, 'keyword');
});
