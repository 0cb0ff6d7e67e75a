// Exercises the ES double through the real @elastic/elasticsearch client.
// Runs unchanged against a real cluster when ES_TEST_NODE is set; the parts
// that need the double (fault injection, its deliberate refusals) skip there.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, errors, type estypes } from '@elastic/elasticsearch';
import { testCluster, type TestCluster } from '../es-double/cluster.js';
import { queryTypesIn } from '../es-double/query.js';

interface Cdr {
  customer_e164: string;
  agent: string;
  '@timestamp': string;
  duration?: number;
  seq?: number;
}

const CDR_TEMPLATE = {
  index_patterns: ['t-*'],
  template: {
    settings: { number_of_shards: 1, number_of_replicas: 0 },
    mappings: {
      properties: {
        customer_e164: { type: 'keyword' },
        agent: { type: 'keyword' },
        '@timestamp': { type: 'date' },
        duration: { type: 'long' },
        seq: { type: 'long' },
      },
    },
  },
} as const;

let cluster: TestCluster;
let client: Client;

const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();

function isResponseError(status: number, type?: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof errors.ResponseError, `expected ResponseError, got ${String(e)}`);
    assert.equal(e.statusCode, status);
    if (type !== undefined) {
      const body = e.meta.body as { error?: { type?: string } };
      assert.equal(body.error?.type, type);
    }
    return true;
  };
}

async function bulkDocs(index: string, docs: Cdr[]): Promise<void> {
  const res = await client.helpers.bulk<Cdr>({
    datasource: docs,
    onDocument: (doc) => ({ index: { _index: index, _id: `${doc.seq ?? doc.agent}` } }),
    refreshOnCompletion: index,
  });
  assert.equal(res.failed, 0);
}

before(async () => {
  cluster = await testCluster();
  client = new Client({ node: cluster.node });
  await cluster.clean('t-');
  await client.indices.putIndexTemplate({ name: 't-cdr-template', ...CDR_TEMPLATE });
});

after(async () => {
  await cluster.clean('t-');
  await client.close();
  await cluster.close();
});

test('cluster info, x-elastic-product header on success and on errors', async (t) => {
  const res = await client.info({}, { meta: true });
  assert.equal(res.headers['x-elastic-product'], 'Elasticsearch');
  assert.match(res.body.version.number, /^8\./);
  if (!cluster.double) return t.diagnostic('raw error-header check needs the double');
  const raw = await fetch(`${cluster.node}/t-missing/_doc/1`);
  assert.equal(raw.status, 404);
  assert.equal(raw.headers.get('x-elastic-product'), 'Elasticsearch');
  assert.equal(raw.headers.get('content-type'), 'application/json');
  const body = (await raw.json()) as { error: { type: string }; status: number };
  assert.equal(body.error.type, 'index_not_found_exception');
});

test('index templates: stored, applied to new daily indices, 404 when missing', async () => {
  const got = await client.indices.getIndexTemplate({ name: 't-cdr-template' });
  assert.deepEqual(got.index_templates[0]?.index_template.index_patterns, ['t-*']);
  assert.equal(await client.indices.existsIndexTemplate({ name: 't-cdr-template' }), true);
  assert.equal(await client.indices.existsIndexTemplate({ name: 't-nope' }), false);
  await assert.rejects(client.indices.getIndexTemplate({ name: 't-nope' }), isResponseError(404, 'resource_not_found_exception'));

  await client.index({ index: 't-cdr-2026.11.20', id: 'probe', document: { customer_e164: '+1', agent: 'x', '@timestamp': minutesAgo(500) } });
  const mapping = await client.indices.getMapping({ index: 't-cdr-2026.11.20' });
  const props = mapping['t-cdr-2026.11.20']?.mappings.properties;
  assert.equal(props?.customer_e164?.type, 'keyword');
  assert.equal(props?.['@timestamp']?.type, 'date');
  await client.delete({ index: 't-cdr-2026.11.20', id: 'probe', refresh: true });
});

test('term + range(now-30m) + sort desc + size 1 finds the latest call across daily indices', async () => {
  const customer = '+4915112345678';
  await bulkDocs('t-cdr-2026.11.20', [
    { customer_e164: customer, agent: 'a-old', '@timestamp': minutesAgo(120) },
    { customer_e164: customer, agent: 'a-20m', '@timestamp': minutesAgo(20) },
  ]);
  await bulkDocs('t-cdr-2026.11.21', [
    { customer_e164: customer, agent: 'a-5m', '@timestamp': minutesAgo(5) },
    { customer_e164: '+4930000000', agent: 'a-other', '@timestamp': minutesAgo(1) },
    { customer_e164: customer, agent: 'a-40m', '@timestamp': minutesAgo(40) },
  ]);
  const request = {
    index: 't-cdr-2026.11.19,t-cdr-2026.11.20,t-cdr-2026.11.21',
    size: 1,
    query: {
      bool: {
        filter: [{ term: { customer_e164: customer } }, { range: { '@timestamp': { gte: 'now-30m' } } }],
      },
    },
    sort: [{ '@timestamp': { order: 'desc' as const } }],
  };
  const res = await client.search<Cdr>({ ...request, ignore_unavailable: true });
  assert.deepEqual(res.hits.total, { value: 2, relation: 'eq' });
  const hit = res.hits.hits[0];
  assert.equal(hit?._source?.agent, 'a-5m');
  assert.equal(hit?._index, 't-cdr-2026.11.21');
  assert.equal(hit?._score, null);
  assert.equal(typeof hit?.sort?.[0], 'number', 'date sort values are epoch millis');
  assert.equal(hit?.sort?.[0], Date.parse(hit?._source?.['@timestamp'] ?? ''));

  // Without ignore_unavailable the missing daily index is an error, as in ES.
  await assert.rejects(client.search(request), isResponseError(404, 'index_not_found_exception'));

  // keyword = exact match; the {value} form and terms behave the same.
  const exact = await client.count({ index: 't-cdr-*', query: { term: { customer_e164: { value: customer } } } });
  assert.equal(exact.count, 4);
  const noPlus = await client.count({ index: 't-cdr-*', query: { term: { customer_e164: customer.slice(1) } } });
  assert.equal(noPlus.count, 0);
  const terms = await client.count({ index: 't-cdr-*', query: { terms: { agent: ['a-5m', 'a-other', 'zzz'] } } });
  assert.equal(terms.count, 2);
});

test('a regexp query is rejected with a 400 (the double refuses it on purpose)', async (t) => {
  if (!cluster.double) return t.skip('real Elasticsearch accepts regexp; this checks the double');
  cluster.double.requests.length = 0;
  await assert.rejects(
    client.search({ index: 't-cdr-*', query: { regexp: { customer_e164: '.*49.*' } } }),
    (e: unknown) => {
      isResponseError(400, 'parsing_exception')(e);
      assert.match(JSON.stringify((e as errors.ResponseError).meta.body), /regexp/);
      return true;
    },
  );
  await assert.rejects(client.search({ index: 't-cdr-*', q: 'customer_e164:*49*' }), isResponseError(400));
  // The request log lets tests assert what the code under test sent.
  const used = cluster.double.requests.flatMap((r) => queryTypesIn((r.body as { query?: unknown } | undefined)?.query));
  assert.deepEqual(used, ['regexp']);
});

test('helpers.bulk indexes 5,000 docs; an identical create bulk gets 409s and adds nothing', async () => {
  const index = 't-bulk-2026.11.20';
  const docs: Cdr[] = Array.from({ length: 5000 }, (_, i) => ({
    customer_e164: `+49${1000000 + i}`,
    agent: `agent-${i % 7}`,
    '@timestamp': minutesAgo(i),
    seq: i,
  }));
  const run = async (): Promise<{ stats: { successful: number; failed: number }; drops: Array<{ status: number; type?: string }> }> => {
    const drops: Array<{ status: number; type?: string }> = [];
    const stats = await client.helpers.bulk<Cdr>({
      datasource: docs,
      onDocument: (doc) => ({ create: { _index: index, _id: `cdr-${doc.seq}` } }),
      onDrop: (d) => drops.push({ status: d.status, type: d.error?.type }),
      flushBytes: 100_000,
      refreshOnCompletion: index,
    });
    return { stats, drops };
  };
  const first = await run();
  assert.equal(first.stats.successful, 5000);
  assert.equal(first.drops.length, 0);
  const second = await run();
  assert.equal(second.stats.successful, 0);
  assert.equal(second.drops.length, 5000);
  assert.ok(second.drops.every((d) => d.status === 409 && d.type === 'version_conflict_engine_exception'));
  assert.equal((await client.count({ index })).count, 5000);
  if (cluster.double) assert.equal(cluster.double.docs(index).length, 5000);
});

test('bulk item errors and single-doc create conflicts have ES shapes', async () => {
  const index = 't-misc-bulk';
  const res = await client.bulk({
    refresh: true,
    operations: [
      { create: { _index: index, _id: '1' } },
      { customer_e164: '+1', agent: 'a', '@timestamp': minutesAgo(1) },
      { create: { _index: index, _id: '1' } },
      { customer_e164: '+1', agent: 'b', '@timestamp': minutesAgo(1) },
      { index: { _index: index, _id: '2' } },
      { customer_e164: '+2', agent: 'c', '@timestamp': 'not-a-date' },
      { update: { _index: index, _id: '1' } },
      { doc: { agent: 'z' } },
      { delete: { _index: index, _id: 'missing' } },
    ],
  });
  assert.equal(res.errors, true);
  const statuses = res.items.map((i) => Object.values(i)[0]?.status);
  assert.deepEqual(statuses, [201, 409, 400, 200, 404]);
  assert.equal(res.items[2]?.index?.error?.type, 'document_parsing_exception');
  assert.equal(res.items[3]?.update?.result, 'updated');
  assert.equal(res.items[4]?.delete?.result, 'not_found');
  await assert.rejects(
    client.create({ index, id: '1', document: { customer_e164: '+1', agent: 'a', '@timestamp': minutesAgo(1) } }),
    isResponseError(409, 'version_conflict_engine_exception'),
  );
  const doc = await client.get<Cdr>({ index, id: '1' });
  assert.equal(doc._source?.agent, 'z');
  assert.equal(doc._version, 2);
  await assert.rejects(client.indices.create({ index }), isResponseError(400, 'resource_already_exists_exception'));
});

test('PIT + search_after visits each of 10,000 docs exactly once, from a snapshot', async () => {
  // Many equal timestamps across two indices: only the _shard_doc tiebreaker makes the order total.
  const mk = (seq: number): Cdr => ({
    customer_e164: `+1${seq % 10}`,
    agent: `agent-${seq}`,
    '@timestamp': new Date(Date.UTC(2026, 10, 20, 0, Math.floor(seq / 100))).toISOString(),
    seq,
  });
  await bulkDocs('t-page-a', Array.from({ length: 5000 }, (_, i) => mk(i * 2)));
  await bulkDocs('t-page-b', Array.from({ length: 5000 }, (_, i) => mk(i * 2 + 1)));

  const pit = await client.openPointInTime({ index: 't-page-*', keep_alive: '1m' });
  // Written after the PIT was opened: must not show up while paging.
  await client.index({ index: 't-page-a', id: 'late', document: mk(99_999), refresh: true });

  const seen = new Set<string>();
  let searchAfter: estypes.SortResults | undefined;
  let pages = 0;
  for (;;) {
    const res = await client.search<Cdr>({
      pit: { id: pit.id, keep_alive: '1m' },
      size: 777,
      sort: [{ '@timestamp': { order: 'asc' } }],
      track_total_hits: false,
      ...(searchAfter ? { search_after: searchAfter } : {}),
    });
    assert.equal(res.hits.total, undefined);
    assert.ok(res.pit_id);
    const hits = res.hits.hits;
    if (hits.length === 0) break;
    pages++;
    for (const h of hits) {
      const key = `${h._index}/${h._id ?? ''}`;
      assert.ok(!seen.has(key), `duplicate ${key}`);
      seen.add(key);
    }
    const last = hits[hits.length - 1];
    assert.equal(last?.sort?.length, 2, 'implicit _shard_doc tiebreaker is echoed');
    searchAfter = last?.sort;
  }
  assert.equal(seen.size, 10_000);
  assert.equal(pages, Math.ceil(10_000 / 777));
  assert.ok(!seen.has('t-page-a/late'));
  const closed = await client.closePointInTime({ id: pit.id });
  assert.equal(closed.succeeded, true);
  await assert.rejects(client.search({ pit: { id: pit.id }, size: 1 }), (e: unknown) => e instanceof errors.ResponseError && e.statusCode === 404);
});

test('scrollDocuments iterates every document', async () => {
  const expected = (await client.count({ index: 't-page-*' })).count;
  assert.equal(expected, 10_001);
  const ids = new Set<string>();
  for await (const doc of client.helpers.scrollDocuments<Cdr>({ index: 't-page-*', size: 1000, query: { match_all: {} } })) {
    ids.add(doc.agent);
  }
  assert.equal(ids.size, expected);
});

test('date math, rounding, typed comparisons, _source and paging limits', async () => {
  const index = 't-misc-dates';
  await bulkDocs(index, [
    { customer_e164: '+1', agent: 'start', '@timestamp': '2020-02-29T00:00:00Z', duration: 42, seq: 1 },
    { customer_e164: '+1', agent: 'end', '@timestamp': '2020-02-29T23:59:59.999Z', duration: 7, seq: 2 },
    { customer_e164: '+1', agent: 'next', '@timestamp': '2020-03-01T00:00:00Z', duration: 100, seq: 3 },
  ]);
  const agents = async (query: estypes.QueryDslQueryContainer): Promise<string[]> => {
    const res = await client.search<Cdr>({ index, query, sort: ['seq'], _source: ['agent'] });
    return res.hits.hits.map((h) => h._source?.agent ?? '');
  };
  // gt/lte round partial dates up to the end of the day, gte/lt down, as ES does.
  assert.deepEqual(await agents({ range: { '@timestamp': { gt: '2020-02-29' } } }), ['next']);
  assert.deepEqual(await agents({ range: { '@timestamp': { lte: '2020-02-29' } } }), ['start', 'end']);
  assert.deepEqual(await agents({ range: { '@timestamp': { gte: '2020-02-28||+1d/d', lt: '2020-02-29||+1d' } } }), ['start', 'end']);
  assert.deepEqual(await agents({ range: { '@timestamp': { gte: '2020-01-31||+1M' } } }), ['start', 'end', 'next']);
  assert.deepEqual(await agents({ range: { '@timestamp': { gte: Date.UTC(2020, 1, 29, 12) } } }), ['end', 'next']);
  assert.deepEqual(await agents({ term: { '@timestamp': '2020-02-29' } }), ['start', 'end']);
  assert.deepEqual(await agents({ range: { '@timestamp': { gte: 'now-1d/d' } } }), []);
  assert.deepEqual(await agents({ range: { '@timestamp': { lt: 'now/y' } } }), ['start', 'end', 'next']);
  assert.deepEqual(await agents({ term: { duration: '42' } }), ['start']);
  assert.deepEqual(await agents({ range: { duration: { gt: 8, lte: 100 } } }), ['start', 'next']);
  assert.deepEqual(
    await agents({ bool: { should: [{ term: { agent: 'start' } }, { term: { agent: 'next' } }], must_not: [{ term: { seq: 3 } }] } }),
    ['start'],
  );
  assert.deepEqual(await agents({ exists: { field: 'duration' } }), ['start', 'end', 'next']);
  assert.deepEqual(await agents({ ids: { values: ['2'] } }), ['end']);

  const filtered = await client.search<Cdr>({ index, size: 1, sort: [{ seq: 'desc' }], _source: { includes: ['agent', 'seq'] } });
  assert.deepEqual(filtered.hits.hits[0]?._source, { agent: 'next', seq: 3 });
  const noSource = await client.search({ index, size: 1, _source: false });
  assert.equal(noSource.hits.hits[0]?._source, undefined);
  const pathFiltered = await client.search({ index, size: 1, sort: ['seq'], filter_path: 'hits.hits._id' });
  assert.deepEqual(pathFiltered, { hits: { hits: [{ _id: '1' }] } });

  await assert.rejects(client.search({ index, from: 9999, size: 2 }), isResponseError(400, 'search_phase_execution_exception'));
  await assert.rejects(client.search({ index, sort: ['no_such_field'] }), isResponseError(400, 'search_phase_execution_exception'));
});

test('index deletion: concrete lists work, wildcards are refused like ES 8', async (t) => {
  await client.indices.create({ index: 't-del-1' });
  await client.indices.create({ index: 't-del-2' });
  assert.equal(await client.indices.exists({ index: 't-del-1' }), true);
  if (cluster.double) {
    await assert.rejects(client.indices.delete({ index: 't-del-*' }), isResponseError(400, 'illegal_argument_exception'));
  } else {
    t.diagnostic('wildcard-delete refusal depends on the real cluster settings; not asserted');
  }
  await client.indices.delete({ index: ['t-del-1', 't-del-2'] });
  assert.equal(await client.indices.exists({ index: 't-del-1' }), false);
  await assert.rejects(client.indices.delete({ index: 't-del-1' }), isResponseError(404, 'index_not_found_exception'));
});

test('unknown endpoints answer with an ES-shaped 400 instead of hanging', async (t) => {
  if (!cluster.double) return t.skip('checks the double');
  const res = await fetch(`${cluster.node}/_no_such_api/x`);
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('x-elastic-product'), 'Elasticsearch');
  const body = (await res.json()) as { error: { type: string } };
  assert.equal(body.error.type, 'illegal_argument_exception');
});

test('setDown: requests fail fast with ConnectionError, then succeed once up again', async (t) => {
  const double = cluster.double;
  if (!double) return t.skip('fault injection needs the double (ES_TEST_NODE is set)');
  const c = new Client({ node: cluster.node, maxRetries: 0, requestTimeout: 500 });
  try {
    await c.info(); // leaves a keep-alive socket that setDown must kill too
    await double.setDown(true);
    const started = Date.now();
    await assert.rejects(c.info(), errors.ConnectionError);
    assert.ok(Date.now() - started < 400, 'should fail on connect, not by timing out');
    await double.setDown(false);
    const info = await c.info();
    assert.equal(info.cluster_name, 'es-double');
  } finally {
    await double.setDown(false);
    await c.close();
  }
});

test('setLatency: a slow cluster trips the client request timeout', async (t) => {
  const double = cluster.double;
  if (!double) return t.skip('fault injection needs the double (ES_TEST_NODE is set)');
  // Per-request timeout on purpose: a client-level requestTimeout becomes undici's
  // headersTimeout, which runs on a ~0.5-1s resolution timer, so 100ms would fire late.
  const c = new Client({ node: cluster.node, maxRetries: 0 });
  try {
    double.setLatency(300);
    const started = Date.now();
    await assert.rejects(c.info({}, { requestTimeout: 100 }), errors.TimeoutError);
    assert.ok(Date.now() - started < 290);
    double.setLatency(0);
    await c.info({}, { requestTimeout: 100 });
  } finally {
    double.setLatency(0);
    await c.close();
  }
});
