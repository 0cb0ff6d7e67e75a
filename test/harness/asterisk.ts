// Starts and stops one Asterisk in the chroot, remembering the PID it started so
// that `down` never touches an Asterisk somebody else runs.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harnessEnv } from './credentials.js';
import { consoleLog, pidFile, projectRoot, rootDir, runDir } from './paths.js';
import { ensureRootTarball, extractRoot } from './rootfs.js';

export function harnessSupported(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: `platform is ${process.platform}, the harness needs Linux` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root: chroot and mmdebstrap --mode=root need root' };
  const mm = spawnSync('sh', ['-c', 'command -v mmdebstrap && command -v sipp'], { encoding: 'utf8' });
  if (mm.status !== 0) return { ok: false, why: 'mmdebstrap or sipp missing (apt-get install mmdebstrap sip-tester)' };
  return { ok: true };
}

export function runningPid(): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  // The PID must still be our chrooted asterisk, not a recycled number.
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.includes('asterisk')) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

export async function ariAnswers(timeoutMs = 1000): Promise<boolean> {
  const auth = Buffer.from(`${harnessEnv.ARI_USERNAME}:${harnessEnv.ARI_PASSWORD}`).toString('base64');
  try {
    const res = await fetch(`${harnessEnv.ARI_URL}/ari/asterisk/info`, {
      headers: { authorization: `Basic ${auth}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.ok;
  } catch {
    return false;
  }
}

const configDirs = () => [join(projectRoot, 'docker/asterisk'), join(projectRoot, 'dialplan')];
const configHashFile = join(runDir, 'config.sha256');

/** A running Asterisk with other configs than the repo's is stale: `up` replaces it. */
function configHash(): string {
  const h = createHash('sha256');
  for (const dir of configDirs()) for (const f of readdirSync(dir).sort()) if (f.endsWith('.conf')) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex');
}

/** Copies the repo's configs over an empty /etc/asterisk: Debian's samples load hundreds of modules. */
function installConfigs(): void {
  const etc = join(rootDir, 'etc/asterisk');
  rmSync(etc, { recursive: true, force: true });
  mkdirSync(etc, { recursive: true });
  for (const dir of configDirs()) {
    for (const f of readdirSync(dir)) if (f.endsWith('.conf')) cpSync(join(dir, f), join(etc, f));
  }
}

/** The zone the harness PBX runs in unless `up --zone` says otherwise. */
export const defaultZone = 'Etc/UTC';

/**
 * Asterisk writes CDR times in the zone of the root's /etc/localtime (its TZ
 * variable does not change them), so that is what a PBX "in a zone" means.
 */
function setZone(zone: string): void {
  if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(zone) || !existsSync(join(rootDir, 'usr/share/zoneinfo', zone))) {
    throw new Error(`--zone ${JSON.stringify(zone)}: no such zone in the root's /usr/share/zoneinfo (expected Area/City, e.g. America/New_York)`);
  }
  rmSync(join(rootDir, 'etc/localtime'), { force: true });
  symlinkSync(`/usr/share/zoneinfo/${zone}`, join(rootDir, 'etc/localtime'));
  writeFileSync(join(rootDir, 'etc/timezone'), `${zone}\n`);
}

const stateOf = (zone: string) => `${configHash()} ${zone}`;

function prepareRoot(log: (m: string) => void, zone: string): void {
  const tarball = ensureRootTarball(log);
  extractRoot(tarball, rootDir);
  installConfigs();
  setZone(zone);
  writeFileSync(configHashFile, stateOf(zone));
  // Without /run/asterisk, `asterisk -rx` finds no control socket; without hosts the resolver complains.
  mkdirSync(join(rootDir, 'run/asterisk'), { recursive: true });
  mkdirSync(join(rootDir, 'var/lib/asterisk/keys'), { recursive: true });
  writeFileSync(join(rootDir, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  rmSync(join(rootDir, 'var/lib/asterisk/astdb.sqlite3'), { force: true });
}

export async function up(log: (m: string) => void, opts: { fresh?: boolean; zone?: string } = {}): Promise<{ started: boolean; pid: number }> {
  const zone = opts.zone ?? defaultZone;
  const existing = runningPid();
  const sameConfig = existsSync(configHashFile) && readFileSync(configHashFile, 'utf8') === stateOf(zone);
  if (existing && !opts.fresh && sameConfig && (await ariAnswers())) return { started: false, pid: existing };
  if (existing && !sameConfig) log(`configs or zone changed since this Asterisk started: restarting it in ${zone}`);
  if (existing) await down(log);
  mkdirSync(runDir, { recursive: true });
  const t0 = Date.now();
  prepareRoot(log, zone);
  const out = openSync(consoleLog, 'w');
  const child = spawn('chroot', [rootDir, '/usr/sbin/asterisk', '-f', '-n'], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  if (!child.pid) throw new Error('could not start asterisk in the chroot');
  writeFileSync(pidFile, String(child.pid));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await ariAnswers(500)) {
      log(`asterisk up (pid ${child.pid}, zone ${zone}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return { started: true, pid: child.pid };
    }
    if (!runningPid()) throw new Error(`asterisk exited during start-up; see ${consoleLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ARI did not answer within 60 s; see ${consoleLog}`);
}

export function cli(command: string): string {
  const r = spawnSync('chroot', [rootDir, '/usr/sbin/asterisk', '-rx', command], { encoding: 'utf8', timeout: 10_000 });
  return (r.stdout ?? '') + (r.stderr ?? '');
}

/** `core stop now`, then SIGKILL after 10 s; returns once the process is gone. */
async function stopPid(pid: number): Promise<void> {
  cli('core stop now');
  const soft = Date.now() + 10_000;
  while (Date.now() < soft && runningPid() === pid) await new Promise((r) => setTimeout(r, 100));
  if (runningPid() !== pid) return;
  process.kill(pid, 'SIGKILL');
  const hard = Date.now() + 10_000;
  while (Date.now() < hard && runningPid() === pid) await new Promise((r) => setTimeout(r, 50));
  if (runningPid() === pid) throw new Error(`asterisk (pid ${pid}) did not exit after SIGKILL`);
}

export async function down(log: (m: string) => void): Promise<boolean> {
  const pid = runningPid();
  if (!pid) {
    rmSync(pidFile, { force: true });
    return false;
  }
  await stopPid(pid);
  rmSync(pidFile, { force: true });
  log(`asterisk (pid ${pid}) stopped`);
  return true;
}

/** Restart in place (same root, same logs): for reliability tests. */
export async function restart(log: (m: string) => void): Promise<number> {
  const pid = runningPid();
  // The old one must be gone: else the new one finds 5060 in use and runs without SIP,
  // while ARI still answers from the old one.
  if (pid) await stopPid(pid);
  const out = openSync(consoleLog, 'a');
  const child = spawn('chroot', [rootDir, '/usr/sbin/asterisk', '-f', '-n'], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await ariAnswers(500)) return child.pid!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('asterisk did not come back');
  void log;
}
