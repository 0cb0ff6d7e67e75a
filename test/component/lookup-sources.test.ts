import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { installTemplate } from '../../src/cdr/index-template.js';
import { dailyIndex, lookupIndicesAt } from '../../src/cdr/index-names.js';
import { Journal } from '../../src/cdr/journal.js';
import type { CdrDocument } from '../../src/cdr/schema.js';
import { budgetSignal, remainingMs } from '../../src/routing/budget.js';
import type { LastAgentHit, LastAgentSource } from '../../src/routing/lookup.js';
import { createLookup, ElasticsearchSource, JournalSource, LayeredSource, MemoryAffinity } from '../../src/routing/sources/index.js';
import { testCluster, type TestCluster } from '../es-double/cluster.js';
import { queryTypesIn } from '../es-double/query.js';
import { makeCdr } from '../support/fixtures/cdrs.js';

const utc = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
const never = () => new AbortController().signal;

let cluster: TestCluster;
let client: Client;
let dir: string;
const prefix = `t-lookup-${process.pid}`;

before(async () => {
  cluster = await testCluster();
  client = new Client({ node: cluster.node });
  await cluster.clean(prefix);
  await installTemplate(client, prefix);
  dir = mkdtempSync(join(tmpdir(), 'lookup-test-'));
});
after(async () => {
  await cluster.clean(prefix);
  await client.close();
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
});

function cdr(customer: string, agent: string, endedAt: string, talked = true, n = 0): CdrDocument {
  return { ...makeCdr(n), id: `${customer}-${agent}-${endedAt}`, customer_e164: customer, agent, '@timestamp': utc(endedAt).toISO() ?? '', talked, talk_seconds: 42 };
}

async function index(docs: CdrDocument[]): Promise<void> {
  const res = await client.helpers.bulk<CdrDocument>({
    datasource: docs,
    onDocument: (d) => ({ index: { _index: dailyIndex(prefix, d['@timestamp']), _id: d.id } }),
    refreshOnCompletion: `${prefix}-*`,
  });
  assert.equal(res.failed, 0);
}

// --- memory -------------------------------------------------------------------

test('memory: remembers the latest conversation, never replaced by an older one, only within the window', async () => {
  const m = new MemoryAffinity({ now: () => utc('2025-06-01T12:00:00Z') });
  m.remember('+12025550100', '1002', utc('2025-06-01T11:50:00Z'), 60);
  m.remember('+12025550100', '1001', utc('2025-06-01T11:40:00Z'), 60); // a late CDR of an older call
  const hit = await m.lastAgentFor('+12025550100', utc('2025-06-01T11:30:00Z'), never());
  assert.equal(hit?.agent, '1002');
  assert.equal(hit?.source, 'memory');
  assert.equal(hit?.talkSeconds, 60);
  assert.equal(await m.lastAgentFor('+12025550100', utc('2025-06-01T11:55:00Z'), never()), undefined);
  assert.equal(await m.lastAgentFor('+19999999999', utc('2025-06-01T11:00:00Z'), never()), undefined);
});

test('memory: learns only from talked CDRs with a customer and an agent', async () => {
  const m = new MemoryAffinity({ now: () => utc('2025-06-01T11:05:00Z') });
  m.rememberCdr(cdr('+12025550100', '1003', '2025-06-01T11:00:00Z', false));
  m.rememberCdr({ ...cdr('+12025550100', '1003', '2025-06-01T11:00:00Z'), agent: undefined });
  assert.equal(m.size, 0);
  m.rememberCdr(cdr('+12025550100', '1003', '2025-06-01T11:00:00Z'));
  assert.equal((await m.lastAgentFor('+12025550100', utc('2025-06-01T10:00:00Z'), never()))?.agent, '1003');
});

test('memory: bounded by entries (oldest written goes first) and by age', async () => {
  let now = utc('2025-06-01T12:00:00Z');
  const m = new MemoryAffinity({ maxEntries: 3, maxAgeMs: 3600_000, now: () => now });
  for (let i = 0; i < 5; i++) m.remember(`+1202555010${i}`, '1001', now.minus({ minutes: 10 - i }), 30);
  assert.equal(m.size, 3);
  assert.equal(await m.lastAgentFor('+12025550100', now.minus({ days: 1 }), never()), undefined);
  assert.ok(await m.lastAgentFor('+12025550104', now.minus({ days: 1 }), never()));
  now = now.plus({ hours: 2 });
  assert.equal(m.pruneExpired(), 3);
  assert.equal(m.size, 0);
});

test('memory and journal sources reject at once when the budget is already spent', async () => {
  const ac = new AbortController();
  ac.abort(new Error('budget spent'));
  await assert.rejects(new MemoryAffinity().lastAgentFor('+1', utc('2025-01-01'), ac.signal), /budget spent/);
  await assert.rejects(new JournalSource({ lastAgentFor: () => undefined }).lastAgentFor('+1', utc('2025-01-01'), ac.signal), /budget spent/);
});

// --- journal source -------------------------------------------------------------

test('journal source answers from Journal.lastAgentFor and says so', async () => {
  const j = new Journal(join(dir, 'journal-source'));
  j.append(cdr('+12025550100', '1002', '2025-06-01T11:50:00Z'));
  const hit = await new JournalSource(j).lastAgentFor('+12025550100', utc('2025-06-01T11:30:00Z'), never());
  assert.deepEqual(hit, { agent: '1002', endedAt: utc('2025-06-01T11:50:00Z'), talkSeconds: 42, source: 'journal' });
  j.close();
});

// --- elasticsearch source ---------------------------------------------------------

test('lookupIndicesAt: today and yesterday, and the day before `since` across midnight', () => {
  assert.deepEqual(lookupIndicesAt('cdr', utc('2025-06-01T09:30:00Z').toMillis(), utc('2025-06-01T10:00:00Z').toMillis()), ['cdr-2025.05.31', 'cdr-2025.06.01']);
  assert.deepEqual(lookupIndicesAt('cdr', utc('2025-05-31T23:50:00Z').toMillis(), utc('2025-06-01T00:20:00Z').toMillis()), ['cdr-2025.05.30', 'cdr-2025.05.31', 'cdr-2025.06.01']);
  assert.deepEqual(lookupIndicesAt('cdr', utc('2024-12-31T23:50:00Z').toMillis(), utc('2025-01-01T00:10:00Z').toMillis()).at(-1), 'cdr-2025.01.01');
  assert.deepEqual(lookupIndicesAt('cdr', utc('2024-01-01T00:00:00Z').toMillis(), utc('2025-06-01T00:00:00Z').toMillis()), ['cdr-*,-cdr-abandons-*,-cdr-agent-states']);
});

test('elasticsearch: the latest talked conversation within the window, across midnight, with exact filters only', async () => {
  const c = '+12025550100';
  await index([
    cdr(c, 'old', '2025-05-31T22:00:00Z'), // before the window
    cdr(c, 'late-yesterday', '2025-05-31T23:55:00Z'), // yesterday's index, within the window
    cdr(c, 'not-talked', '2025-06-01T00:05:00Z', false),
    cdr('+12025550199', 'other-customer', '2025-06-01T00:06:00Z'),
    cdr('12025550100', 'no-plus', '2025-06-01T00:07:00Z'),
  ]);
  const now = utc('2025-06-01T00:10:00Z');
  const es = new ElasticsearchSource({ client, prefix, timeoutMs: 2000, now: () => now });
  cluster.double?.requests.splice(0);
  const hit = await es.lastAgentFor(c, now.minus({ minutes: 30 }), never());
  assert.deepEqual(hit, { agent: 'late-yesterday', endedAt: utc('2025-05-31T23:55:00Z'), talkSeconds: 42, source: 'elasticsearch' });

  await index([cdr(c, 'just-now', '2025-06-01T00:09:00Z')]);
  assert.equal((await es.lastAgentFor(c, now.minus({ minutes: 30 }), never()))?.agent, 'just-now');
  assert.equal(await es.lastAgentFor('+10000000000', now.minus({ minutes: 30 }), never()), undefined);

  if (cluster.double) {
    const searches = cluster.double.requests.filter((r) => r.path.endsWith('/_search'));
    assert.equal(searches.length, 3);
    for (const r of searches) {
      const body = r.body as { query?: unknown; size?: number; track_total_hits?: boolean; _source?: string[]; sort?: unknown };
      const types = queryTypesIn(body.query);
      for (const forbidden of ['regexp', 'wildcard', 'query_string', 'prefix', 'fuzzy']) assert.ok(!types.includes(forbidden), `sent ${forbidden}`);
      assert.deepEqual(types, ['bool', 'term', 'term', 'range']);
      assert.equal(body.size, 1);
      assert.equal(body.track_total_hits, false);
      assert.deepEqual(body._source, ['@timestamp', 'agent', 'agent_pbx', 'customer_e164', 'talk_seconds', 'attempt']);
      assert.deepEqual(body.sort, [{ '@timestamp': 'desc' }]);
      assert.equal(decodeURIComponent(r.path), `/${prefix}-2025.05.30,${prefix}-2025.05.31,${prefix}-2025.06.01/_search`);
      assert.equal(r.query.ignore_unavailable, 'true');
      assert.equal(r.query.allow_no_indices, 'true');
      // Only the hits' _source comes back: the client parses a few hundred bytes, not the whole response.
      assert.equal(r.query.filter_path, 'hits.hits._source');
    }
  }
});

test('elasticsearch: a slow cluster makes the lookup reject within the budget', async (t) => {
  const double = cluster.double;
  if (!double) return t.skip('latency injection needs the double');
  const es = new ElasticsearchSource({ client, prefix, timeoutMs: 5000 });
  double.setLatency(1000);
  try {
    // A budget signal: requestTimeout is what is left of it.
    let started = Date.now();
    await assert.rejects(es.lastAgentFor('+12025550100', DateTime.utc().minus({ minutes: 30 }), budgetSignal(150)));
    let took = Date.now() - started;
    assert.ok(took < 400, `took ${took} ms for a 150 ms budget`);
    // A plain AbortSignal: the abort ends the request.
    started = Date.now();
    await assert.rejects(es.lastAgentFor('+12025550100', DateTime.utc().minus({ minutes: 30 }), AbortSignal.timeout(150)));
    took = Date.now() - started;
    assert.ok(took < 400, `took ${took} ms for a 150 ms abort`);
  } finally {
    double.setLatency(0);
  }
});

// --- layered -------------------------------------------------------------------------

function fake(name: string, answer: LastAgentHit | undefined | Error, delayMs = 0): LastAgentSource & { calls: number } {
  return {
    name,
    calls: 0,
    async lastAgentFor(_e164, _since, signal) {
      this.calls++;
      if (delayMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, delayMs);
          signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason as Error); }, { once: true });
        });
      }
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}
const hit = (agent: string, iso: string, source: string): LastAgentHit => ({ agent, endedAt: utc(iso), talkSeconds: 60, source });
const since = utc('2025-06-01T11:00:00Z');

test('layered: memory and Elasticsearch compared by end time; the journal is not asked when either hit', async () => {
  const journal = fake('journal', hit('j', '2025-06-01T11:59:00Z', 'journal'));
  const memNewer = new LayeredSource({ memory: fake('memory', hit('m', '2025-06-01T11:50:00Z', 'memory')), elasticsearch: fake('elasticsearch', hit('e', '2025-06-01T11:40:00Z', 'elasticsearch')), journal });
  assert.equal((await memNewer.lastAgentFor('+1', since, never()))?.source, 'memory');
  const esNewer = new LayeredSource({ memory: fake('memory', hit('m', '2025-06-01T11:30:00Z', 'memory')), elasticsearch: fake('elasticsearch', hit('e', '2025-06-01T11:40:00Z', 'elasticsearch')), journal });
  assert.deepEqual(await esNewer.lastAgentFor('+1', since, never()), hit('e', '2025-06-01T11:40:00Z', 'elasticsearch'));
  const esOnly = new LayeredSource({ memory: fake('memory', undefined), elasticsearch: fake('elasticsearch', hit('e', '2025-06-01T11:40:00Z', 'elasticsearch')), journal });
  assert.equal((await esOnly.lastAgentFor('+1', since, never()))?.agent, 'e');
  assert.equal(journal.calls, 0);
});

test('layered: the journal answers when ES has nothing, fails, or is not configured', async () => {
  const journal = () => fake('journal', hit('j', '2025-06-01T11:20:00Z', 'journal'));
  const errors: string[] = [];
  const cases: [string, LayeredSource][] = [
    ['es miss', new LayeredSource({ memory: fake('memory', undefined), elasticsearch: fake('elasticsearch', undefined), journal: journal() })],
    ['es error', new LayeredSource({ memory: fake('memory', undefined), elasticsearch: fake('elasticsearch', new Error('ECONNREFUSED')), journal: journal(), onError: (s) => errors.push(s) })],
    ['no es', new LayeredSource({ memory: fake('memory', undefined), journal: journal() })],
  ];
  for (const [what, layered] of cases) assert.equal((await layered.lastAgentFor('+1', since, never()))?.source, 'journal', what);
  assert.deepEqual(errors, ['elasticsearch']);
  // With ES down, memory and journal are compared by end time too.
  const both = new LayeredSource({ memory: fake('memory', hit('m', '2025-06-01T11:10:00Z', 'memory')), elasticsearch: fake('elasticsearch', new Error('down')), journal: journal() });
  assert.equal((await both.lastAgentFor('+1', since, never()))?.source, 'journal');
});

test('layered: a slow Elasticsearch leaves the journal time to answer within the budget', async () => {
  const layered = new LayeredSource({
    memory: fake('memory', undefined),
    elasticsearch: fake('elasticsearch', hit('e', '2025-06-01T11:40:00Z', 'elasticsearch'), 5000),
    journal: fake('journal', hit('j', '2025-06-01T11:20:00Z', 'journal')),
    journalReserveMs: 30,
  });
  const budget = budgetSignal(150);
  const started = Date.now();
  const got = await layered.lastAgentFor('+1', since, budget);
  const took = Date.now() - started;
  assert.equal(got?.source, 'journal');
  assert.ok(took < 150, `answered after ${took} ms, budget 150 ms`);
  assert.ok((remainingMs(budget) ?? 0) > 0);
});

test('layered: when the call’s own signal aborts (no deadline known), the lookup rejects', async () => {
  const layered = new LayeredSource({
    memory: fake('memory', undefined),
    elasticsearch: fake('elasticsearch', undefined, 5000),
    journal: fake('journal', hit('j', '2025-06-01T11:20:00Z', 'journal')),
  });
  const started = Date.now();
  await assert.rejects(layered.lastAgentFor('+1', since, AbortSignal.timeout(100)));
  assert.ok(Date.now() - started < 300);
});

test('createLookup over the real double and journal: ES down → journal; ES slow → journal within budget; memory beats both', async (t) => {
  const double = cluster.double;
  if (!double) return t.skip('fault injection needs the double');
  const c = '+12025550142';
  const j = new Journal(join(dir, 'layered'));
  const now = DateTime.utc();
  j.append(cdr(c, '1003', now.minus({ minutes: 5 }).toISO() ?? ''));
  const errors: string[] = [];
  const { memory, lookup } = createLookup({ journal: j, elasticsearch: { client, prefix, timeoutMs: 300 }, onError: (s) => errors.push(s) });
  const window = now.minus({ minutes: 30 });

  await double.setDown(true);
  try {
    assert.equal((await lookup.lastAgentFor(c, window, budgetSignal(300)))?.source, 'journal');
  } finally {
    await double.setDown(false);
  }

  double.setLatency(1000);
  try {
    const started = Date.now();
    const got = await lookup.lastAgentFor(c, window, budgetSignal(200));
    assert.equal(got?.source, 'journal');
    assert.equal(got?.agent, '1003');
    assert.ok(Date.now() - started < 250, `took ${Date.now() - started} ms`);
  } finally {
    double.setLatency(0);
  }
  assert.deepEqual(errors, ['elasticsearch', 'elasticsearch']);

  memory.remember(c, '1001', now.minus({ minutes: 1 }), 30);
  assert.equal((await lookup.lastAgentFor(c, window, budgetSignal(300)))?.source, 'memory');
  j.close();
});

test('layered: Elasticsearch failing and no local record is a failed lookup, not "no history"; a local record still answers', async () => {
  const { LayeredSource } = await import('../../src/routing/sources/layered.js');
  const { DateTime } = await import('luxon');
  const down = { name: 'elasticsearch', lastAgentFor: async () => { throw new Error('connect ECONNREFUSED'); } };
  const empty = { name: 'journal', lastAgentFor: async () => undefined };
  const knows = { name: 'journal', lastAgentFor: async () => ({ agent: '1003', endedAt: DateTime.utc(), talkSeconds: 30, source: 'journal' }) };
  const since = DateTime.utc().minus({ minutes: 30 });
  await assert.rejects(new LayeredSource({ elasticsearch: down, journal: empty }).lastAgentFor('+12025550100', since, AbortSignal.timeout(500)), /elasticsearch: connect ECONNREFUSED; no local record/);
  const hit = await new LayeredSource({ elasticsearch: down, journal: knows }).lastAgentFor('+12025550100', since, AbortSignal.timeout(500));
  assert.equal(hit?.source, 'journal');
  // Elasticsearch answering "nobody" is a real miss.
  const none = { name: 'elasticsearch', lastAgentFor: async () => undefined };
  assert.equal(await new LayeredSource({ elasticsearch: none, journal: empty }).lastAgentFor('+12025550100', since, AbortSignal.timeout(500)), undefined);
});
