// The durable records the router backfills from (issue "nothing lost"): Asterisk's
// cdr_sqlite3_custom store, written whether or not AMI has a listener, and queue_log
// for queue abandons. Without them, what Asterisk emits while the router is down or
// cut off from AMI is lost. Asterisk's side is read over AMI (module, table, columns);
// the router's side by opening the file as the backfill does.
import { accessSync, constants } from 'node:fs';
import { basename } from 'node:path';
import { DateTime } from 'luxon';
import { CdrStore, storeColumns } from '../../cdr/backfill/cdr-store.js';
import { fix, ok, type Check, type DoctorContext, type Verdict } from '../check.js';

const conf = 'docker/asterisk/cdr_sqlite3_custom.conf';

async function asteriskSide(ctx: DoctorContext, file: string, table: string): Promise<Verdict[]> {
  const session = await ctx.ami();
  try {
    await session.action({ Action: 'ModuleCheck', Module: 'cdr_sqlite3_custom' });
  } catch {
    return [fix(`module cdr_sqlite3_custom is not loaded: Asterisk keeps no CDRs of its own to backfill from; install ${conf} and \`module load cdr_sqlite3_custom.so\``)];
  }
  const parsed = await session.config('cdr_sqlite3_custom.conf');
  // Each category is a database file (relative names go to astlogdir); the one that
  // holds our table is ours.
  const mine = [...parsed].find(([, lines]) => lines.some(([k, v]) => k === 'table' && v === table));
  if (!mine) return [fix(`cdr_sqlite3_custom.conf has no category with table = ${table} (ASTERISK_CDR_TABLE): use ${conf} and \`module reload cdr_sqlite3_custom\``)];
  const [category, lines] = mine;
  const out: Verdict[] = [];
  const columns = new Set((lines.find(([k]) => k === 'columns')?.[1] ?? '').split(',').map((c) => c.trim()));
  const missing = storeColumns.filter((c) => !columns.has(c));
  out.push(missing.length === 0
    ? ok(`cdr_sqlite3_custom writes [${category}] table ${table} with the ${storeColumns.length} columns the backfill reads`)
    : fix(`cdr_sqlite3_custom.conf [${category}] lacks column(s) ${missing.join(', ')}: take columns and fields from ${conf}, then \`module reload cdr_sqlite3_custom\``));
  if (basename(category) !== basename(file)) {
    out.push(fix(`Asterisk writes the store to ${category}, but ASTERISK_CDR_DB names ${file}: point ASTERISK_CDR_DB at Asterisk's file (a shared volume when the router runs elsewhere)`));
  }
  return out;
}

function routerSide(file: string, table: string, now: number): Verdict {
  const store = new CdrStore(file, table);
  try {
    const newest = store.maxRowid();
    // The columns the backfill selects, on the newest row: fails as the backfill would.
    const [row] = store.rowsAfter(Math.max(0, newest - 1), 1);
    if (!row) return ok(`${file} opens read-only, table ${table} is empty (no call since cdr_sqlite3_custom was set up)`);
    const ended = row.endMs ?? row.startMs;
    const age = ended === undefined ? 'time unknown' : `call ended ${DateTime.fromMillis(ended, { zone: 'utc' }).toISO({ suppressMilliseconds: true })}, ${Math.round((now - ended) / 60_000)} min ago`;
    return ok(`${file} opens read-only; newest row ${newest} (${age})`);
  } catch (err) {
    const e = err as Error & { code?: string };
    const hint = e.code === 'SQLITE_CANTOPEN' ? ': the router cannot open it (path, permissions, or the volume is not mounted)' : '';
    return fix(`cannot read ${file}: ${e.message}${hint}`);
  } finally {
    store.close();
  }
}

export const cdrStoreCheck: Check = {
  name: 'cdr-store',
  async run(ctx) {
    const { ASTERISK_CDR_DB: file, ASTERISK_CDR_TABLE: table, ASTERISK_QUEUE_LOG: queueLog } = ctx.config;
    const out: Verdict[] = [];
    if (!file) {
      out.push(fix(`ASTERISK_CDR_DB is unset: CDRs Asterisk emits while the router has no AMI session are lost; enable cdr_sqlite3_custom (${conf}) and set ASTERISK_CDR_DB=/var/log/asterisk/sticky-cdr.db`));
    } else {
      out.push(...(await asteriskSide(ctx, file, table)), routerSide(file, table, ctx.now()));
    }
    if (!queueLog) {
      out.push(fix('ASTERISK_QUEUE_LOG is unset: queue abandons during an AMI gap are not recorded; set ASTERISK_QUEUE_LOG=/var/log/asterisk/queue_log'));
    } else {
      try {
        accessSync(queueLog, constants.R_OK);
        out.push(ok(`${queueLog} is readable (queue abandons missed during an AMI gap are read back from it)`));
      } catch (err) {
        out.push(fix(`cannot read ASTERISK_QUEUE_LOG ${queueLog}: ${(err as Error).message}`));
      }
    }
    return out;
  },
};
