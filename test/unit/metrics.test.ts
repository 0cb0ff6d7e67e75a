import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register as globalRegistry } from 'prom-client';
import { Metrics } from '../../src/metrics.js';
import { reasons } from '../../src/routing/reasons.js';

/** `name{labels} value` lines of one metric, as a map. */
function series(text: string, name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', m[3]!);
  }
  return out;
}

test('every metric the issue names is exposed, with the right type', async () => {
  const text = await new Metrics().render();
  const types: [string, string][] = [
    ['sticky_decisions_total', 'counter'],
    ['sticky_lookup_seconds', 'histogram'],
    ['sticky_ring_outcomes_total', 'counter'],
    ['sticky_ring_seconds', 'histogram'],
    ['sticky_abandons_total', 'counter'],
    ['sticky_journal_backlog', 'gauge'],
    ['sticky_shipping_errors_total', 'counter'],
    ['sticky_reconnects_total', 'counter'],
    ['sticky_calls_in_progress', 'gauge'],
    ['process_cpu_seconds_total', 'counter'],
    ['nodejs_eventloop_lag_seconds', 'gauge'],
  ];
  for (const [name, type] of types) assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
});

test('a private registry: two instances do not clash and the global registry stays empty', async () => {
  const a = new Metrics();
  const b = new Metrics();
  a.decision('no_history');
  assert.equal(series(await b.render(), 'sticky_decisions_total').get('{reason="no_history"}'), '0');
  assert.equal(series(await a.render(), 'sticky_decisions_total').get('{reason="no_history"}'), '1');
  assert.equal((await globalRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith('sticky_')).length, 0);
});

test('known label values exist at zero before the first call', async () => {
  const text = await new Metrics({ defaultMetrics: false }).render();
  const d = series(text, 'sticky_decisions_total');
  for (const r of reasons) assert.equal(d.get(`{reason="${r}"}`), '0', r);
  const rings = series(text, 'sticky_ring_outcomes_total');
  for (const r of ['agent_paused', 'agent_logged_out']) assert.equal(d.get(`{reason="${r}"}`), '0', `queue-state reason ${r} is a known label`);
  for (const o of ['answered', 'no_answer', 'busy', 'unavailable', 'caller_hung_up']) assert.equal(rings.get(`{outcome="${o}"}`), '0');
  assert.deepEqual([...series(text, 'sticky_abandons_total').keys()].sort(), ['{source="queue"}', '{source="sticky_ring"}', '{source="sticky_wait"}']);
  assert.deepEqual([...series(text, 'sticky_reconnects_total').keys()].sort(), ['{link="ami"}', '{link="ari"}']);
  for (const s of ['memory', 'elasticsearch', 'journal', 'miss', 'failed']) assert.equal(series(text, 'sticky_lookup_seconds_count').get(`{source="${s}"}`), '0');
});

test('typed methods count what happened', async () => {
  const m = new Metrics({ defaultMetrics: false });
  m.decision('sticky_agent');
  m.decision('sticky_agent');
  m.decision('agent_no_answer');
  m.lookup('memory', 0.00015);
  m.lookup('elasticsearch', 0.012);
  m.lookup('elasticsearch', 0.4);
  m.lookup('Not A Label!', 0.001);
  m.lookup('memory', -1); // a clock jump: ignored, not an exception
  m.ring('answered', 3.5);
  m.ring('no_answer', 20);
  m.abandon('queue');
  m.abandon('sticky_ring');
  m.abandon('queue');
  m.shippingError();
  m.shippingError(3);
  m.reconnect('ari');
  m.reconnect('ami');
  m.reconnect('ami');
  const text = await m.render();
  const d = series(text, 'sticky_decisions_total');
  assert.equal(d.get('{reason="sticky_agent"}'), '2');
  assert.equal(d.get('{reason="agent_no_answer"}'), '1');
  const buckets = series(text, 'sticky_lookup_seconds_bucket');
  assert.equal(buckets.get('{le="0.0001",source="memory"}'), '0');
  assert.equal(buckets.get('{le="0.00025",source="memory"}'), '1');
  assert.equal(buckets.get('{le="0.025",source="elasticsearch"}'), '1');
  assert.equal(buckets.get('{le="0.3",source="elasticsearch"}'), '1');
  assert.equal(buckets.get('{le="0.5",source="elasticsearch"}'), '2');
  assert.equal(series(text, 'sticky_lookup_seconds_count').get('{source="other"}'), '1');
  assert.equal(series(text, 'sticky_lookup_seconds_count').get('{source="memory"}'), '1');
  assert.equal(series(text, 'sticky_ring_outcomes_total').get('{outcome="answered"}'), '1');
  assert.equal(series(text, 'sticky_ring_seconds_count').get(''), '2');
  assert.equal(series(text, 'sticky_ring_seconds_sum').get(''), '23.5');
  assert.equal(series(text, 'sticky_ring_seconds_bucket').get('{le="5"}'), '1');
  assert.equal(series(text, 'sticky_abandons_total').get('{source="queue"}'), '2');
  assert.equal(series(text, 'sticky_shipping_errors_total').get(''), '4');
  assert.equal(series(text, 'sticky_reconnects_total').get('{link="ami"}'), '2');
});

test('lookup buckets span 0.1 ms to 1 s', async () => {
  const text = await new Metrics({ defaultMetrics: false }).render();
  const les = [...series(text, 'sticky_lookup_seconds_bucket').keys()].filter((k) => k.includes('source="memory"')).map((k) => /le="([^"]+)"/.exec(k)![1]);
  assert.equal(les[0], '0.0001');
  assert.ok(les.includes('1') && les.includes('0.3') && les.at(-1) === '+Inf');
});

test('gauges read their samplers at scrape time; late binding and failures', async () => {
  let backlog = 5;
  const m = new Metrics({ defaultMetrics: false, journalBacklog: () => backlog });
  assert.equal(series(await m.render(), 'sticky_journal_backlog').get(''), '5');
  backlog = 12;
  assert.equal(series(await m.render(), 'sticky_journal_backlog').get(''), '12');
  m.sampleFrom({ callsInProgress: async () => 3 });
  assert.equal(series(await m.render(), 'sticky_calls_in_progress').get(''), '3');
  m.sampleFrom({ journalBacklog: () => { throw new Error('journal closed'); } });
  const text = await m.render(); // the scrape still succeeds
  assert.match(series(text, 'sticky_journal_backlog').get('') ?? '', /^nan$/i);
  assert.equal(series(text, 'sticky_calls_in_progress').get(''), '3');
});

test('shipping errors can follow the shipper\'s cumulative count at scrape time', async () => {
  let errors = 0;
  const m = new Metrics({ defaultMetrics: false });
  m.sampleFrom({ shippingErrors: () => errors });
  assert.equal(series(await m.render(), 'sticky_shipping_errors_total').get(''), '0');
  errors = 3;
  assert.equal(series(await m.render(), 'sticky_shipping_errors_total').get(''), '3');
  assert.equal(series(await m.render(), 'sticky_shipping_errors_total').get(''), '3');
  errors = 1; // a new shipper started from zero: the counter never goes down
  assert.equal(series(await m.render(), 'sticky_shipping_errors_total').get(''), '3');
  errors = 2;
  assert.equal(series(await m.render(), 'sticky_shipping_errors_total').get(''), '4');
});
