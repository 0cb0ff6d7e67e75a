// The Prometheus alert rules and the Grafana dashboard against what the router exports:
// promtool checks and unit-tests the rules; every query's metric (and label value) exists
// in the router's own Metrics registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Metrics } from '../../src/metrics.js';
import { checkSelector, dashboardQueries, parseExposition, ruleQueries, rulesFile, selectors } from '../support/promql.js';

const root = resolve(import.meta.dirname, '..', '..');
const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
// Without promtool a developer's machine skips; CI installs it (.ci/run) and must not.
const noPromtool = promtool ? false : process.env.CI === 'true' ? false : 'promtool missing: apt-get install prometheus';

/** A registry with every sampler bound, as the running app has it. */
async function exposition() {
  const m = new Metrics({ journalBacklog: () => 0, callsInProgress: () => 0, shippingErrors: () => 0, lookupTimeoutSeconds: 0.3, ready: () => ({ ari: true, ami: true, elasticsearch: true }) });
  m.lookup('elasticsearch', 0.01);
  m.ring('answered', 2);
  return parseExposition(await m.render());
}

test('promtool check rules: the alert rules file is valid', { skip: noPromtool }, () => {
  assert.ok(promtool, 'promtool is not installed (apt-get install prometheus)');
  const r = spawnSync(promtool, ['check', 'rules', rulesFile], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: \d+ rules found/);
});

test('promtool test rules: each alert fires on its condition and not before', { skip: noPromtool }, () => {
  const r = spawnSync(promtool, ['test', 'rules', 'docker/prometheus/sticky-router.rules.test.yml'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
});

test('the rules cover every item of the README\'s "Alert on" list', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
  const alertOn = readme.slice(readme.indexOf('- **Alert on:**'), readme.indexOf('- **Logs:**'));
  const rules = ruleQueries(root).queries.map((q) => `${q.where}: ${q.expr}`).join('\n');
  const wanted: [RegExp, RegExp][] = [
    [/\/readyz/, /sticky_ready/],
    [/sticky_reconnects_total\[10m\]\) > 3/, /increase\(sticky_reconnects_total\[10m\]\) > 3/],
    [/sticky_journal_backlog/, /deriv\(sticky_journal_backlog/],
    [/shipping errors/, /sticky_shipping_errors_total/],
    [/p95 above `LOOKUP_TIMEOUT`/, /histogram_quantile\(0\.95[\s\S]*sticky_lookup_timeout_seconds/],
    [/`lookup_failed`/, /reason="lookup_failed"/],
    [/abandons above your baseline/, /sticky_abandons_total/],
  ];
  for (const [inReadme, inRules] of wanted) {
    assert.match(alertOn, inReadme, `README "Alert on" no longer says ${inReadme}`);
    assert.match(rules, inRules);
  }
});

test('every metric and label value the alert rules query is exported by the router', async () => {
  const exp = await exposition();
  const { queries, recorded } = ruleQueries(root);
  recorded.add('up'); // Prometheus's own per-target series
  const problems = queries.flatMap((q) => selectors(q.expr).map((s) => checkSelector(s, exp, recorded)).filter(Boolean).map((p) => `${q.where}: ${p}`));
  assert.deepEqual(problems, []);
  assert.ok(queries.length >= 8);
});

test('every query of the Grafana dashboard names a metric (and label values) the router exports', async () => {
  const exp = await exposition();
  const queries = dashboardQueries(root);
  assert.ok(queries.length >= 15, `only ${queries.length} queries found`);
  const problems = queries.flatMap((q) => {
    const sels = selectors(q.expr);
    if (sels.length === 0) return [`${q.where}: no metric in ${q.expr}`];
    return sels.map((s) => checkSelector(s, exp, new Set())).filter(Boolean).map((p) => `${q.where}: ${p}`);
  });
  assert.deepEqual(problems, []);
});

test('the check itself catches a metric the router does not export, and a label value it never uses', async () => {
  const exp = await exposition();
  assert.match(checkSelector(selectors('rate(sticky_decision_total[5m])')[0]!, exp, new Set()), /not exported/);
  assert.match(checkSelector(selectors('sum(rate(sticky_decisions_total{reason="sticky"}[5m]))')[0]!, exp, new Set()), /no such series/);
  assert.equal(checkSelector(selectors('sum by (le) (rate(sticky_lookup_seconds_bucket{source="journal"}[$__rate_interval]))')[0]!, exp, new Set()), '');
});

test('sticky_ready follows the readiness checks, and a failing sampler reads as not ready', async () => {
  let state: Record<string, boolean> | Error = { ari: true, ami: false };
  const m = new Metrics({ defaultMetrics: false, ready: () => {
    if (state instanceof Error) throw state;
    return state;
  } });
  let text = await m.render();
  assert.match(text, /^sticky_ready\{check="ari"\} 1$/m);
  assert.match(text, /^sticky_ready\{check="ami"\} 0$/m);
  state = new Error('boom');
  text = await m.render();
  assert.match(text, /^sticky_ready\{check="ari"\} 0$/m);
  assert.match(text, /^sticky_ready\{check="ami"\} 0$/m);
});
