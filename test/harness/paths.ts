// Where the harness keeps things. The built root is cached per package list so a
// second `up` only extracts a tarball; the running root is recreated on every `up`
// so each run starts with no registrations, CDRs or queue_log from the last one.
import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sticky-router');
export const runDir = process.env.HARNESS_DIR ?? '/var/tmp/sticky-router-harness';
export const rootDir = join(runDir, 'root');
export const pidFile = join(runDir, 'asterisk.pid');
export const consoleLog = join(runDir, 'asterisk-console.log');
export const queueLogFile = join(rootDir, 'var/log/asterisk/queue_log');
export const messagesLog = join(rootDir, 'var/log/asterisk/messages.log');
/** cdr_sqlite3_custom's database (docker/asterisk/cdr_sqlite3_custom.conf): the router's ASTERISK_CDR_DB. */
export const cdrStoreFile = join(rootDir, 'var/log/asterisk/sticky-cdr.db');
