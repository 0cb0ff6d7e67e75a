// npm test: the unit and component tests always; the integration tests against the
// real Asterisk harness (chroot + sipp) wherever it can run. Where it cannot, say so
// loudly; in CI (CI=true) that is a failure, not a skip.
//   unit        test/unit: no Asterisk, no Elasticsearch double; run in parallel.
//   component   test/component: a real client over HTTP to the Elasticsearch double (own
//               port each); one file at a time (some move 200,000 documents and time
//               themselves).
//   integration test/integration: one PBX and its SIP ports; one file at a time.
// Every runner has a --test-timeout (Node 20 applies it to each file as a whole, too),
// so a hung test fails instead of hanging CI; it is a hang guard, not a speed check.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const only = process.argv[2]; // 'unit' (unit + component) | 'integration' | undefined (all)
const find = (dir) =>
  (existsSync(dir) ? readdirSync(dir, { recursive: true }) : [])
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f))
    .sort();

const unit = find('test/unit');
const component = find('test/component');
let integration = only === 'unit' ? [] : find('test/integration');
let startedHarness = false;

if (integration.length > 0) {
  const up = spawnSync('npx', ['tsx', 'test/harness/cli.ts', 'up', ...(process.env.CI === 'true' ? ['--fresh'] : [])], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  process.stderr.write(up.stderr);
  if (up.status === 2) {
    const banner = '!'.repeat(78);
    process.stderr.write(`\n${banner}\n!! INTEGRATION TESTS NOT RUN: the Asterisk harness cannot run on this machine.\n!! ${up.stderr.trim()}\n!! Only unit tests ran. CI must run them all.\n${banner}\n\n`);
    if (process.env.CI === 'true') process.exit(1);
    integration = [];
  } else if (up.status !== 0) {
    process.stderr.write('harness failed to start; see `npm run harness -- logs`\n');
    process.exit(1);
  } else {
    startedHarness = !/already running/.test(up.stderr);
  }
}

const node = (files, extra) => spawnSync(process.execPath, ['--import', 'tsx', '--test', ...extra, ...files], { stdio: 'inherit' }).status ?? 1;
let status = 0;
// Node's default concurrency is cores - 1, i.e. serial on a 2-core box: ask for more; these files wait on timers and I/O more than on the CPU.
if (only !== 'integration' && unit.length > 0) status = node(unit, ['--test-concurrency=4', '--test-timeout=600000']);
if (only !== 'integration' && component.length > 0) status = Math.max(status, node(component, ['--test-concurrency=1', '--test-timeout=600000']));
// One file at a time: integration tests share one PBX and its SIP ports.
if (integration.length > 0) status = Math.max(status, node(integration, ['--test-concurrency=1', '--test-timeout=1200000']));
if (startedHarness && !process.env.KEEP_HARNESS) spawnSync('npx', ['tsx', 'test/harness/cli.ts', 'down'], { stdio: 'inherit' });
process.exit(status);
