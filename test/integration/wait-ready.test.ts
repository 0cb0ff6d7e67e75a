// The systemd unit's readiness probe (`sticky-router wait-ready`) against a real router on
// the harness PBX, and the router's real /metrics scraped for every metric the Grafana
// dashboard and the alert rules query.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { startRouter, type RouterProcess } from '../support/router.js';
import { checkSelector, dashboardQueries, parseExposition, ruleQueries, selectors } from '../support/promql.js';

const root = resolve(import.meta.dirname, '..', '..');
let router: RouterProcess;
let port: number;

function waitReady(env: Record<string, string>, timeout: string): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', resolve(root, 'src/cli/main.ts'), 'wait-ready', '--timeout', timeout], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

before(async () => {
  router = await startRouter();
  port = (await router.waitForLog((l) => l.msg === 'http listening', 5000, 'http listening')).port as number;
});

after(async () => {
  await router?.stop();
});

test('wait-ready exits 0 once the router has ARI and AMI up, and says so', async () => {
  const r = await waitReady({ HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port) }, '30');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^sticky-router ready: ari ok, ami ok, elasticsearch ok \(journal-only mode/m);
});

test('wait-ready on a wildcard HTTP_HOST probes loopback', async () => {
  const r = await waitReady({ HTTP_HOST: '0.0.0.0', HTTP_PORT: String(port) }, '30');
  assert.equal(r.code, 0, r.stderr);
});

test('wait-ready with no router exits 1 after its timeout, naming what it tried', async () => {
  // A port nobody listens on: the router's own port after asking the kernel for a free one.
  const { createServer } = await import('node:net');
  const free = await new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
  const r = await waitReady({ HTTP_HOST: '127.0.0.1', HTTP_PORT: String(free) }, '1');
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`sticky-router wait-ready: not ready after 1 s: http://127\\.0\\.0\\.1:${free}/readyz: fetch failed`));
  assert.ok(r.ms >= 1000, `gave up after ${r.ms} ms`);
});

test('every metric the dashboard and the alert rules query is in the running router\'s /metrics', async () => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const exp = parseExposition(text);
  assert.match(text, /^sticky_ready\{check="ari"\} 1$/m);
  assert.match(text, /^sticky_ready\{check="ami"\} 1$/m);
  assert.match(text, /^sticky_lookup_timeout_seconds 0\.3$/m);
  const { queries, recorded } = ruleQueries(root);
  recorded.add('up');
  const problems = [...dashboardQueries(root), ...queries].flatMap((q) => selectors(q.expr).map((s) => checkSelector(s, exp, recorded)).filter(Boolean).map((p) => `${q.where}: ${p}`));
  assert.deepEqual(problems, []);
});
