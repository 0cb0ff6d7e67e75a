// npm test: the unit tests always; the integration tests against the real Asterisk
// harness (chroot + sipp) wherever it can run. Where it cannot, say so loudly; in CI
// (CI=true) that is a failure, not a skip.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const only = process.argv[2]; // 'unit' | 'integration' | undefined (all)
const find = (dir) =>
  (existsSync(dir) ? readdirSync(dir, { recursive: true }) : [])
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f))
    .sort();

const unit = [...find('test/unit'), ...find('test/es-double')];
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

const files = only === 'integration' ? integration : [...unit, ...integration];
// One file at a time: integration tests share one PBX and its SIP ports.
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
if (startedHarness && !process.env.KEEP_HARNESS) spawnSync('npx', ['tsx', 'test/harness/cli.ts', 'down'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
