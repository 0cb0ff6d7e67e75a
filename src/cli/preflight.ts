// Checks that need the file system, done before anything connects so that a bad
// ROUTES_FILE or DATA_DIR stops start-up like any other bad setting: exit 78 and
// one line naming the variable.
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { DidPolicies } from '../routing/did-policy.js';
import { exitWith } from './config-exit.js';

export function preflight(config: Config): DidPolicies {
  const dataDir = writableDir(config.DATA_DIR);
  if (dataDir !== true) exitWith(`config: DATA_DIR=${JSON.stringify(config.DATA_DIR)} is invalid: expected a writable directory (${dataDir})`, 78);
  try {
    return DidPolicies.load(config);
  } catch (err) {
    exitWith(`config: ROUTES_FILE=${JSON.stringify(config.ROUTES_FILE)} is invalid: expected ${(err as Error).message.replace(/^ROUTES_FILE[^:]*: /, '')}`, 78);
  }
}

/** Creates the directory one level at a time (Node 20's recursive mkdir can spin under /proc) and proves it writable. */
function writableDir(path: string): true | string {
  const target = resolve(path);
  if (/^\/(proc|sys|dev)(\/|$)/.test(target)) return 'not under /proc, /sys or /dev';
  const missing: string[] = [];
  let dir = target;
  while (!existsSync(dir)) {
    missing.unshift(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
    for (const d of missing) mkdirSync(d);
    accessSync(target, constants.W_OK);
    const probe = join(target, `.write-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}
