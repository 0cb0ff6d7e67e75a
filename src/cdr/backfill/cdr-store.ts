// Reads Asterisk's own CDR store: the SQLite file cdr_sqlite3_custom writes
// (docker/asterisk/cdr_sqlite3_custom.conf), opened read-only. Rows are read in
// the order Asterisk posted them (its rowid, AcctId), so "what was posted after
// row N" is one indexed range scan, whatever the calls' own times.
import { Database, type Statement } from '../../storage/sqlite.js';
import type { AmiFields } from '../from-ami.js';

/** The columns the router reads; cdr_sqlite3_custom.conf must write them. */
export const storeColumns = [
  'uniqueid', 'linkedid', 'src', 'dst', 'dcontext', 'clid', 'channel', 'dstchannel', 'lastapp', 'lastdata',
  'start', 'start_epoch', 'answer_epoch', 'end_epoch', 'duration', 'billsec', 'disposition', 'amaflags', 'accountcode', 'userfield',
] as const;

export type StoreRow = { rowid: number } & Record<(typeof storeColumns)[number], string | number | null>;

export interface StoredCdr {
  rowid: number;
  /** The row as the AMI Cdr event would carry it (same keys as cdr_manager), for the same document and id. */
  fields: AmiFields;
  /** Epoch ms, from the int64 columns: no time zone involved. */
  startMs: number | undefined;
  answerMs: number | undefined;
  endMs: number | undefined;
}

export class CdrStore {
  private db: Database | undefined;
  private stmt: Statement<[number, number], StoreRow> | undefined;

  constructor(readonly path: string, readonly table = 'sticky_cdr') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`cdr store: bad table name ${JSON.stringify(table)}`);
  }

  /** Rows posted after `afterRowid`, oldest first. Throws when the file or table cannot be read. */
  rowsAfter(afterRowid: number, limit: number): StoredCdr[] {
    return this.statement().all(afterRowid, limit).map(toStored);
  }

  /** The newest row's rowid (0 when empty): a smaller value than remembered means the file was replaced. */
  maxRowid(): number {
    const db = this.open();
    return (db.prepare(`SELECT max(rowid) AS m FROM "${this.table}"`).get() as { m: number | null }).m ?? 0;
  }

  /** The oldest row's rowid (0 when empty; old rows may have been deleted by a cron job). */
  minRowid(): number {
    const db = this.open();
    return (db.prepare(`SELECT min(rowid) AS m FROM "${this.table}"`).get() as { m: number | null }).m ?? 0;
  }

  /**
   * The first rowid in (afterRowid, uptoRowid] whose call ended at or after `ms` (a first
   * start: nothing remembered yet), or undefined. end_epoch has no index (Asterisk's
   * table): the caller scans a large store range by range, yielding in between.
   */
  firstRowidEndingAfter(ms: number, afterRowid: number, uptoRowid: number): number | undefined {
    const db = this.open();
    this.firstStmt ??= db.prepare(`SELECT min(rowid) AS m FROM "${this.table}" WHERE rowid > ? AND rowid <= ? AND CAST(end_epoch AS INTEGER) >= ?`);
    const r = this.firstStmt.get(afterRowid, uptoRowid, Math.floor(ms / 1000)) as { m: number | null } | undefined;
    return r?.m ?? undefined;
  }
  private firstStmt: Statement | undefined;

  close(): void {
    if (this.db?.open) this.db.close();
    this.db = undefined;
    this.stmt = undefined;
    this.firstStmt = undefined;
  }

  private open(): Database {
    if (this.db?.open) return this.db;
    const db = new Database(this.path, { readonly: true, fileMustExist: true });
    // Asterisk writes with its own busy_timeout; a read waits briefly for its commit.
    db.pragma('busy_timeout = 200');
    this.db = db;
    return db;
  }

  private statement(): Statement<[number, number], StoreRow> {
    if (this.stmt) return this.stmt;
    const cols = storeColumns.map((c) => `"${c}"`).join(', ');
    try {
      this.stmt = this.open().prepare(`SELECT rowid AS rowid, ${cols} FROM "${this.table}" WHERE rowid > ? ORDER BY rowid LIMIT ?`);
    } catch (err) {
      // A missing column or table: say which file and what to fix, and reopen next time.
      this.close();
      throw new Error(`cdr store ${this.path} table ${this.table}: ${(err as Error).message} (columns must be those of docker/asterisk/cdr_sqlite3_custom.conf)`, { cause: err });
    }
    return this.stmt;
  }
}

const str = (v: string | number | null): string => (typeof v === 'string' ? v : v === null ? '' : String(v));

function epochMs(v: string | number | null): number | undefined {
  const n = typeof v === 'number' ? v : Number.parseFloat(str(v));
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : undefined;
}

function epochText(ms: number | undefined): string {
  return ms === undefined ? '' : String(ms / 1000);
}

/** "YYYY-MM-DD HH:MM:SS" in UTC: cdrFromAmiEvent's input; docFromStored sets the real times from the epochs. */
function utcText(ms: number | undefined): string {
  if (ms === undefined) return '';
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

function toStored(r: StoreRow): StoredCdr {
  // Each epoch read once: the fields' texts and the StoredCdr's numbers come from the same value.
  const startMs = epochMs(r.start_epoch);
  const answerMs = epochMs(r.answer_epoch);
  const endMs = epochMs(r.end_epoch);
  const fields: AmiFields = {
    Event: 'Cdr',
    AccountCode: str(r.accountcode),
    Source: str(r.src),
    Destination: str(r.dst),
    DestinationContext: str(r.dcontext),
    CallerID: str(r.clid),
    Channel: str(r.channel),
    DestinationChannel: str(r.dstchannel),
    LastApplication: str(r.lastapp),
    LastData: str(r.lastdata),
    StartTime: str(r.start),
    // Only StartTime's text is part of the id; the other times come from the epochs
    // (cdr_manager writes an empty AnswerTime for an unanswered call, the store 0).
    AnswerTime: utcText(answerMs),
    EndTime: utcText(endMs),
    Duration: str(r.duration),
    BillableSeconds: str(r.billsec),
    Disposition: str(r.disposition),
    AMAFlags: str(r.amaflags),
    UniqueID: str(r.uniqueid),
    UserField: str(r.userfield),
    LinkedID: str(r.linkedid),
    // As cdr_manager's `start,u => StartEpoch` mappings carry them: the AMI path reads the same instants.
    StartEpoch: epochText(startMs),
    AnswerEpoch: epochText(answerMs),
    EndEpoch: epochText(endMs),
  };
  return { rowid: r.rowid, fields, startMs, answerMs, endMs };
}
