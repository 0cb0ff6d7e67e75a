// Where the harness keeps things. The built root is cached per package list so a
// second `up` only extracts a tarball; the running root is recreated on every `up`
// so each run starts with no registrations, CDRs or queue_log from the last one.
import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sticky-router');
export const runDir = process.env.HARNESS_DIR ?? '/var/tmp/sticky-router-harness';

/** Where one harness PBX keeps its root, PID and logs (a second PBX has a runDir of its own). */
export function harnessPaths(dir: string) {
  const root = join(dir, 'root');
  return {
    runDir: dir,
    rootDir: root,
    pidFile: join(dir, 'asterisk.pid'),
    consoleLog: join(dir, 'asterisk-console.log'),
    configHashFile: join(dir, 'config.sha256'),
    queueLogFile: join(root, 'var/log/asterisk/queue_log'),
    messagesLog: join(root, 'var/log/asterisk/messages.log'),
    /** cdr_sqlite3_custom's database (docker/asterisk/cdr_sqlite3_custom.conf): the router's ASTERISK_CDR_DB. */
    cdrStoreFile: join(root, 'var/log/asterisk/sticky-cdr.db'),
  };
}
export type HarnessPaths = ReturnType<typeof harnessPaths>;

const own = harnessPaths(runDir);
export const rootDir = own.rootDir;
export const pidFile = own.pidFile;
export const consoleLog = own.consoleLog;
export const queueLogFile = own.queueLogFile;
export const messagesLog = own.messagesLog;
export const cdrStoreFile = own.cdrStoreFile;
