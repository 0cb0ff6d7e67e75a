// docker/systemd/sticky-router.service: `systemd-analyze verify` in a scratch root
// (the unit, systemd's own units, and an executable where ExecStart points), the
// hardening it promises, and the sysusers file that creates its user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const unitFile = join(root, 'docker/systemd/sticky-router.service');
const unitText = readFileSync(unitFile, 'utf8');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
// CI installs systemd (.ci/run); elsewhere say why this is skipped.
const noSystemd = has('systemd-analyze') || process.env.CI === 'true' ? false : 'systemd-analyze missing: apt-get install systemd';

/** key -> every value it is given in [Service]. */
function directives(section: string): Map<string, string[]> {
  const body = unitText.split(/^\[/m).find((s) => s.startsWith(`${section}]`)) ?? '';
  const out = new Map<string, string[]>();
  for (const line of body.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

/** A root with systemd's units and the unit installed; `withBinary` puts an executable at ExecStart. */
function scratchRoot(withBinary: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-systemd-'));
  mkdirSync(join(dir, 'etc/systemd/system'), { recursive: true });
  mkdirSync(join(dir, 'usr/lib/systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(dir, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  cpSync(unitFile, join(dir, 'etc/systemd/system/sticky-router.service'));
  if (withBinary) {
    mkdirSync(join(dir, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(dir, 'usr/local/bin/sticky-router'), '#!/bin/sh\n');
    chmodSync(join(dir, 'usr/local/bin/sticky-router'), 0o755);
  }
  return dir;
}

test('systemd-analyze verify: the unit is clean (no warning at all)', { skip: noSystemd }, () => {
  const dir = scratchRoot(true);
  try {
    const r = spawnSync('systemd-analyze', ['verify', `--root=${dir}`, 'sticky-router.service'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'verify printed warnings');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('systemd-analyze verify fails when ExecStart points at nothing (the check can fail)', { skip: noSystemd }, () => {
  const dir = scratchRoot(false);
  try {
    const r = spawnSync('systemd-analyze', ['verify', `--root=${dir}`, 'sticky-router.service'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /\/usr\/local\/bin\/sticky-router is not executable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('systemd-analyze security rates the unit "OK" (exposure 2.0 or less of 10)', { skip: noSystemd }, () => {
  const dir = scratchRoot(true);
  try {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', `--root=${dir}`, '--no-pager', 'sticky-router.service'], { encoding: 'utf8' });
    const m = /Overall exposure level for sticky-router\.service: ([\d.]+) (\w+)/.exec(r.stdout + r.stderr);
    assert.ok(m, r.stdout + r.stderr);
    assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} ${m[2]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hardening: a dedicated user, read-only system but DATA_DIR and RECORDINGS_DIR, no privileges, an EnvironmentFile', () => {
  const s = directives('Service');
  const one = (k: string) => {
    const v = s.get(k);
    assert.ok(v && v.length > 0, `${k}= missing`);
    return v.at(-1)!;
  };
  assert.equal(one('User'), 'sticky-router');
  assert.notEqual(one('User'), 'root');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('CapabilityBoundingSet'), '');
  assert.equal(one('ProtectHome'), 'yes');
  assert.equal(one('PrivateTmp'), 'yes');
  assert.match(one('EnvironmentFile'), /^\/etc\/sticky-router\/sticky-router\.env$/);
  // DATA_DIR and RECORDINGS_DIR defaults set by the unit are exactly the writable paths.
  const env = Object.fromEntries(one('Environment').split(/\s+/).map((kv) => kv.split('=') as [string, string]));
  const writable = one('ReadWritePaths').split(/\s+/).map((p) => p.replace(/^-/, ''));
  assert.ok(env.DATA_DIR && writable.includes(env.DATA_DIR), `DATA_DIR ${env.DATA_DIR} not in ReadWritePaths ${writable.join(' ')}`);
  assert.ok(env.RECORDINGS_DIR && writable.includes(env.RECORDINGS_DIR), `RECORDINGS_DIR ${env.RECORDINGS_DIR} not in ReadWritePaths`);
  assert.equal(`/var/lib/${one('StateDirectory')}`, env.DATA_DIR, 'StateDirectory= creates DATA_DIR for the user');
  // Readiness: the start only succeeds once the router answers /readyz.
  assert.equal(one('Type'), 'exec');
  assert.match(one('ExecStartPost'), /\/sticky-router wait-ready\b/);
  assert.match(one('ExecStart'), /\/sticky-router start$/);
  // Hopeless exits (bad config 78, rejected credentials 2) are not restarted in a loop.
  assert.deepEqual(one('RestartPreventExitStatus').split(/\s+/).sort(), ['2', '78']);
  // V8 needs W+X memory: MemoryDenyWriteExecute would crash node at start.
  assert.ok(!s.has('MemoryDenyWriteExecute'));
});

test('systemd-sysusers creates the unit\'s user from sticky-router.sysusers', { skip: noSystemd }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-sysusers-'));
  try {
    mkdirSync(join(dir, 'etc'));
    const r = spawnSync('systemd-sysusers', [`--root=${dir}`, join(root, 'docker/systemd/sticky-router.sysusers')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const passwd = readFileSync(join(dir, 'etc/passwd'), 'utf8');
    assert.match(passwd, /^sticky-router:x:\d+:\d+:[^:]*:\/var\/lib\/sticky-router:\/usr\/sbin\/nologin$/m);
    assert.match(readFileSync(join(dir, 'etc/group'), 'utf8'), /^sticky-router:x:\d+:/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the example EnvironmentFile parses as the router\'s configuration', async () => {
  const { loadConfig } = await import('../../src/config.js');
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(root, 'docker/systemd/sticky-router.env.example'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  const c = loadConfig(env);
  assert.equal(c.ARI_APP, 'sticky-router');
  assert.equal(c.HTTP_PORT, 8090);
});
