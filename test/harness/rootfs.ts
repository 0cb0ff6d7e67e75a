// Builds (once) and extracts a Debian sid root with Asterisk 22 in it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cacheDir } from './paths.js';

const packages = ['asterisk', 'asterisk-core-sounds-en', 'asterisk-moh-opsound-wav'];
const mirror = process.env.HARNESS_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const mmdebstrapArgs = [
  '--variant=apt',
  '--mode=root',
  // sid's Release on the mirror is often past Valid-Until; without this mmdebstrap exits 25.
  `--aptopt=Acquire::Check-Valid-Until "false"`,
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  '--dpkgopt=path-exclude=/usr/share/man/*',
  `--include=${packages.join(',')}`,
];

export function rootTarball(): string {
  const key = createHash('sha256').update(JSON.stringify([packages, mmdebstrapArgs, mirror])).digest('hex').slice(0, 12);
  return join(cacheDir, `asterisk-root-${key}.tar.zst`);
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what}: ${cmd} exited with ${r.status}`);
}

/** Returns the cached root tarball, building it with mmdebstrap the first time (~25 s). */
export function ensureRootTarball(log: (m: string) => void): string {
  const tarball = rootTarball();
  if (existsSync(tarball)) return tarball;
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${tarball}.partial.tar.zst`;
  rmSync(partial, { force: true });
  log(`building the Asterisk root with mmdebstrap (first run only) -> ${tarball}`);
  const t0 = Date.now();
  run('mmdebstrap', [...mmdebstrapArgs, 'sid', partial, mirror], 'mmdebstrap');
  renameSync(partial, tarball);
  log(`root built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return tarball;
}

export function extractRoot(tarball: string, root: string): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  run('tar', ['--zstd', '-xpf', tarball, '-C', root], 'extracting the Asterisk root');
}
