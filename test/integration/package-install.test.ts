// `npm pack` then `npm install -g` of the tarball into a scratch prefix gives a working
// `sticky-router`: the dialplan, Asterisk configs, systemd unit, alert rules, dashboard and
// Kibana objects are inside; the native journal works; `setup --kibana` finds the saved
// objects from the installed package; the systemd unit verifies against the installed binary.
// --offline: the install comes from npm's cache (filled by `npm ci`), so the test needs no
// network (it runs inside the harness's network namespace too). On Node 20 it builds
// better-sqlite3 from source: minutes on a loaded machine, hence the long timeout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEsDouble, type EsDouble } from '../es-double/server.js';
import { backfillEnv, harnessEnv } from '../support/harness.js';
import { shebangEnv, shebangNodeFlags } from '../support/node-flags.js';

const root = resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
let dir: string;
let prefix: string;
let tarball: string;
let bin: string;

const run = (cmd: string, args: string[], env: Record<string, string> = {}, cwd = dir) =>
  spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 1_200_000 });

before(() => {
  assert.ok(existsSync(join(root, 'dist/src/cli/main.js')), 'dist/ is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'sticky-pack-'));
  // An FHS-like scratch root: the package goes where `npm install -g` puts it on Debian (/usr/local).
  prefix = join(dir, 'root/usr/local');
  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {}, root);
  assert.equal(packed.status, 0, packed.stderr);
  const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(dir, info[0]!.filename);
  const inst = run('npm', ['install', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball]);
  assert.equal(inst.status, 0, `npm install -g failed:\n${inst.stdout}\n${inst.stderr}`);
  bin = join(prefix, 'bin/sticky-router');
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the built CLI and every file an installation needs, and no sources or tests', () => {
  const list = run('tar', ['-tzf', tarball]);
  assert.equal(list.status, 0, list.stderr);
  const files = new Set(list.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')));
  for (const f of [
    'package.json', 'README.md', 'dist/src/cli/main.js',
    'dialplan/sticky-router.conf', 'dialplan/extensions.conf',
    'docker/asterisk/manager.conf', 'docker/asterisk/cdr_manager.conf', 'docker/asterisk/ari.conf', 'docker/asterisk/pjsip.conf',
    'docker/kibana/saved-objects.ndjson',
    'docker/systemd/sticky-router.service', 'docker/systemd/sticky-router.sysusers', 'docker/systemd/sticky-router.env.example',
    'docker/prometheus/sticky-router.rules.yml', 'docker/grafana/sticky-router.json',
  ]) assert.ok(files.has(f), `${f} missing from the package`);
  assert.deepEqual([...files].filter((f) => /^(test|src)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts')), []);
});

test('the installed `sticky-router --version` answers with the package version', () => {
  assert.equal(realpathSync(bin), join(prefix, 'lib/node_modules/sticky-router/dist/src/cli/main.js'));
  const v = run(bin, ['--version']);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), pkg.version);
});

test('the installed `sticky-router start` routes against the harness PBX: ready, journal on disk, clean stop', async () => {
  const dataDir = join(dir, 'data');
  const proc = spawn(bin, ['start'], { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...harnessEnv, DATA_DIR: dataDir, HTTP_PORT: '0', LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "sticky-router started" within 60 s; stderr: ${err}`)), 60_000);
      proc.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const listening = /"port":(\d+)[^\n]*"msg":"http listening"/.exec(out);
        if (listening && out.includes('"msg":"sticky-router started"')) {
          clearTimeout(timer);
          resolvePort(Number(listening[1]));
        }
      });
      proc.once('exit', (code) => reject(new Error(`router exited ${code}: ${err}`)));
    });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    // The bin's shebang flags reach the node process (env -S execs it: same pid).
    const argv = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0');
    for (const f of shebangNodeFlags()) assert.ok(argv.includes(f), `${f} missing from the router's command line: ${argv.join(' ')}`);
    // …and its VAR=value pairs its environment (MALLOC_ARENA_MAX: glibc reads it at start).
    const environ = readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0');
    const vars = Object.entries(shebangEnv());
    assert.ok(vars.length > 0, 'the shebang sets no variable');
    for (const [k, v] of vars) assert.ok(environ.includes(`${k}=${v}`), `${k}=${v} missing from the router's environment`);
    // The native SQLite binding works: the journal and the outbox are on disk.
    assert.ok(existsSync(join(dataDir, 'journal.sqlite')), 'journal.sqlite missing');
  } finally {
    const code = await new Promise<number | null>((r) => {
      if (proc.exitCode !== null) return r(proc.exitCode);
      proc.once('exit', (c) => r(c));
      proc.kill('SIGTERM');
    });
    assert.equal(code, 0, err);
  }
  const l = run(bin, ['lookup', '+12025550100', '--json'], { DATA_DIR: dataDir });
  assert.equal(l.status, 0, l.stderr);
  assert.equal((JSON.parse(l.stdout) as { reason: string }).reason, 'no_history');
});

test('the installed `sticky-router doctor` finds the harness PBX all well', () => {
  const r = run(bin, ['doctor'], { ...harnessEnv, ...backfillEnv });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^all \d+ checks OK$/m);
});

test('the installed `sticky-router setup --kibana` installs templates and imports the packaged Kibana objects', async () => {
  const es: EsDouble = await startEsDouble();
  const imports: string[] = [];
  const kibana = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      imports.push(`${req.method} ${req.url}\n${body}`);
      const n = body.split('\n').filter((l) => l.startsWith('{"')).length;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: true, successCount: n, successResults: [] }));
    });
  });
  await new Promise<void>((r) => kibana.listen(0, '127.0.0.1', r));
  try {
    const kibanaUrl = `http://127.0.0.1:${(kibana.address() as AddressInfo).port}`;
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolveRun) => {
      // Async spawn: the doubles answer on this event loop.
      void import('node:child_process').then(({ execFile }) => {
        execFile(bin, ['setup', '--kibana', kibanaUrl], { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, ES_NODE: es.url } }, (err, stdout, stderr) => {
          resolveRun({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
      });
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /index template .*: (created|updated|unchanged)/);
    assert.match(r.stdout, /kibana: imported \d+ saved objects/);
    assert.equal(imports.length, 1);
    assert.match(imports[0]!, /^POST \/api\/saved_objects\/_import/);
    const shipped = readFileSync(join(root, 'docker/kibana/saved-objects.ndjson'), 'utf8').split('\n').filter((l) => l.trim()).length;
    assert.equal(imports[0]!.split('\n').filter((l) => l.startsWith('{"')).length, shipped);
  } finally {
    await new Promise<void>((r) => kibana.close(() => r()));
    await es.close();
  }
});

test('the packaged systemd unit verifies against the installed binary (systemd-analyze verify --root)', { skip: spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0 || process.env.CI === 'true' ? false : 'systemd-analyze missing: apt-get install systemd' }, () => {
  const sysroot = join(dir, 'root');
  mkdirSync(join(sysroot, 'etc/systemd/system'), { recursive: true });
  mkdirSync(join(sysroot, 'usr/lib/systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(sysroot, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  cpSync(join(prefix, 'lib/node_modules/sticky-router/docker/systemd/sticky-router.service'), join(sysroot, 'etc/systemd/system/sticky-router.service'));
  const r = run('systemd-analyze', ['verify', `--root=${sysroot}`, 'sticky-router.service']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
});
