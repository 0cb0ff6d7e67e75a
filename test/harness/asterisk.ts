// Starts and stops one Asterisk in the chroot, remembering the PID it started so
// that `down` never touches an Asterisk somebody else runs.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harnessEnv } from './credentials.js';
import { harnessPaths, projectRoot, runDir, type HarnessPaths } from './paths.js';
import { ensureRootTarball, extractRoot } from './rootfs.js';

/**
 * One harness PBX. The default one runs in this process's network namespace with
 * HARNESS_DIR; a second one (test/harness/peer.ts) has a runDir, a namespace,
 * a SystemName and extra config files (its trunk to the first) of its own.
 */
export interface HarnessPbx {
  paths: HarnessPaths;
  /** The network namespace Asterisk runs in; undefined = this process's. */
  netns?: string;
  /** asterisk.conf [options] systemname: Asterisk's name for itself (and its uniqueids' prefix). */
  systemName?: string;
  /** Files written into /etc/asterisk besides the repo's (name → text), e.g. pjsip_peers.conf. */
  extraConfigs?: Record<string, string>;
}

export const defaultPbx: HarnessPbx = { paths: harnessPaths(runDir) };

export function harnessSupported(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: `platform is ${process.platform}, the harness needs Linux` };
  if (process.getuid?.() !== 0) return { ok: false, why: 'not root: chroot and mmdebstrap --mode=root need root' };
  const mm = spawnSync('sh', ['-c', 'command -v mmdebstrap && command -v sipp'], { encoding: 'utf8' });
  if (mm.status !== 0) return { ok: false, why: 'mmdebstrap or sipp missing (apt-get install mmdebstrap sip-tester)' };
  return { ok: true };
}

export function runningPid(pbx: HarnessPbx = defaultPbx): number | undefined {
  const { pidFile } = pbx.paths;
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

export async function ariAnswers(timeoutMs = 1000, pbx: HarnessPbx = defaultPbx): Promise<boolean> {
  // Another namespace's 127.0.0.1 is out of reach: ask its Asterisk through the control socket.
  if (pbx.netns) return /fully booted/i.test(cli('core waitfullybooted', pbx, timeoutMs)) && /Enabled and Bound/i.test(cli('http show status', pbx, timeoutMs));
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

/** A running Asterisk with other configs than the repo's (or this PBX's own) is stale: `up` replaces it. */
function configHash(pbx: HarnessPbx): string {
  const h = createHash('sha256');
  for (const dir of configDirs()) for (const f of readdirSync(dir).sort()) if (f.endsWith('.conf')) h.update(f).update(readFileSync(join(dir, f)));
  h.update(JSON.stringify([pbx.systemName ?? '', pbx.netns ?? '', Object.entries(pbx.extraConfigs ?? {}).sort()]));
  return h.digest('hex');
}

/** Copies the repo's configs over an empty /etc/asterisk: Debian's samples load hundreds of modules. */
function installConfigs(pbx: HarnessPbx): void {
  const etc = join(pbx.paths.rootDir, 'etc/asterisk');
  rmSync(etc, { recursive: true, force: true });
  mkdirSync(etc, { recursive: true });
  for (const dir of configDirs()) {
    for (const f of readdirSync(dir)) if (f.endsWith('.conf')) cpSync(join(dir, f), join(etc, f));
  }
  if (pbx.systemName) {
    const conf = join(etc, 'asterisk.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^\[options\]$/m, `[options]\nsystemname = ${pbx.systemName}`));
  }
  for (const [name, text] of Object.entries(pbx.extraConfigs ?? {})) writeFileSync(join(etc, name), text);
}

/** The zone the harness PBX runs in unless `up --zone` says otherwise. */
export const defaultZone = 'Etc/UTC';

/**
 * Asterisk writes CDR times in the zone of the root's /etc/localtime (its TZ
 * variable does not change them), so that is what a PBX "in a zone" means.
 */
function setZone(zone: string, rootDir: string): void {
  if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(zone) || !existsSync(join(rootDir, 'usr/share/zoneinfo', zone))) {
    throw new Error(`--zone ${JSON.stringify(zone)}: no such zone in the root's /usr/share/zoneinfo (expected Area/City, e.g. America/New_York)`);
  }
  rmSync(join(rootDir, 'etc/localtime'), { force: true });
  symlinkSync(`/usr/share/zoneinfo/${zone}`, join(rootDir, 'etc/localtime'));
  writeFileSync(join(rootDir, 'etc/timezone'), `${zone}\n`);
}

const stateOf = (zone: string, pbx: HarnessPbx) => `${configHash(pbx)} ${zone}`;

function prepareRoot(log: (m: string) => void, zone: string, pbx: HarnessPbx): void {
  const { rootDir } = pbx.paths;
  const tarball = ensureRootTarball(log);
  extractRoot(tarball, rootDir);
  installConfigs(pbx);
  setZone(zone, rootDir);
  writeFileSync(pbx.paths.configHashFile, stateOf(zone, pbx));
  // Without /run/asterisk, `asterisk -rx` finds no control socket; without hosts the resolver complains.
  mkdirSync(join(rootDir, 'run/asterisk'), { recursive: true });
  mkdirSync(join(rootDir, 'var/lib/asterisk/keys'), { recursive: true });
  writeFileSync(join(rootDir, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  rmSync(join(rootDir, 'var/lib/asterisk/astdb.sqlite3'), { force: true });
}

/** chroot ROOT asterisk -f, inside the PBX's network namespace when it has one (ip netns exec execs: the PID is Asterisk's). */
function spawnAsterisk(pbx: HarnessPbx, out: number) {
  const cmd = ['chroot', pbx.paths.rootDir, '/usr/sbin/asterisk', '-f', '-n'];
  const argv = pbx.netns ? ['ip', 'netns', 'exec', pbx.netns, ...cmd] : cmd;
  return spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out, out] });
}

export async function up(log: (m: string) => void, opts: { fresh?: boolean; zone?: string; pbx?: HarnessPbx } = {}): Promise<{ started: boolean; pid: number }> {
  const pbx = opts.pbx ?? defaultPbx;
  const { configHashFile, consoleLog, pidFile } = pbx.paths;
  const zone = opts.zone ?? defaultZone;
  const existing = runningPid(pbx);
  const sameConfig = existsSync(configHashFile) && readFileSync(configHashFile, 'utf8') === stateOf(zone, pbx);
  if (existing && !opts.fresh && sameConfig && (await ariAnswers(1000, pbx))) return { started: false, pid: existing };
  if (existing && !sameConfig) log(`configs or zone changed since this Asterisk started: restarting it in ${zone}`);
  if (existing) await down(log, pbx);
  mkdirSync(pbx.paths.runDir, { recursive: true });
  const t0 = Date.now();
  prepareRoot(log, zone, pbx);
  const out = openSync(consoleLog, 'w');
  const child = spawnAsterisk(pbx, out);
  child.unref();
  if (!child.pid) throw new Error('could not start asterisk in the chroot');
  writeFileSync(pidFile, String(child.pid));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await ariAnswers(500, pbx)) {
      log(`asterisk up (pid ${child.pid}, zone ${zone}${pbx.netns ? `, netns ${pbx.netns}` : ''}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return { started: true, pid: child.pid };
    }
    if (!runningPid(pbx)) throw new Error(`asterisk exited during start-up; see ${consoleLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ARI did not answer within 60 s; see ${consoleLog}`);
}

/** An Asterisk CLI command through the root's control socket (works across network namespaces). */
export function cli(command: string, pbx: HarnessPbx = defaultPbx, timeoutMs = 10_000): string {
  const r = spawnSync('chroot', [pbx.paths.rootDir, '/usr/sbin/asterisk', '-rx', command], { encoding: 'utf8', timeout: timeoutMs });
  return (r.stdout ?? '') + (r.stderr ?? '');
}

/** `core stop now`, then SIGKILL after 10 s; returns once the process is gone. */
async function stopPid(pid: number, pbx: HarnessPbx): Promise<void> {
  cli('core stop now', pbx);
  const soft = Date.now() + 10_000;
  while (Date.now() < soft && runningPid(pbx) === pid) await new Promise((r) => setTimeout(r, 100));
  if (runningPid(pbx) !== pid) return;
  process.kill(pid, 'SIGKILL');
  const hard = Date.now() + 10_000;
  while (Date.now() < hard && runningPid(pbx) === pid) await new Promise((r) => setTimeout(r, 50));
  if (runningPid(pbx) === pid) throw new Error(`asterisk (pid ${pid}) did not exit after SIGKILL`);
}

export async function down(log: (m: string) => void, pbx: HarnessPbx = defaultPbx): Promise<boolean> {
  const { pidFile } = pbx.paths;
  const pid = runningPid(pbx);
  if (!pid) {
    rmSync(pidFile, { force: true });
    return false;
  }
  await stopPid(pid, pbx);
  rmSync(pidFile, { force: true });
  log(`asterisk (pid ${pid}) stopped`);
  return true;
}

/** Restart in place (same root, same logs): for reliability tests. */
export async function restart(log: (m: string) => void, pbx: HarnessPbx = defaultPbx): Promise<number> {
  const pid = runningPid(pbx);
  // The old one must be gone: else the new one finds 5060 in use and runs without SIP,
  // while ARI still answers from the old one.
  if (pid) await stopPid(pid, pbx);
  const out = openSync(pbx.paths.consoleLog, 'a');
  const child = spawnAsterisk(pbx, out);
  child.unref();
  writeFileSync(pbx.paths.pidFile, String(child.pid));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await ariAnswers(500, pbx)) return child.pid!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('asterisk did not come back');
  void log;
}
