// The durable local journal: every CDR (and later every abandon record) is written
// here first, before anything is sent anywhere. It is the shipper's queue, the
// lookup's fallback when Elasticsearch is down or unset, and the export's source
// without Elasticsearch.
//
// SQLite (src/storage/sqlite.ts) is synchronous and runs on the event loop, so each statement
// must stay short: statements are prepared once, writes are single-row or one
// transaction per batch, and pruning deletes in bounded chunks.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Database, type Statement } from '../storage/sqlite.js';
import { DateTime } from 'luxon';
import { WalCheckpointer } from '../storage/wal-checkpointer.js';

/** Record kinds sharing the journal; each ships to its own index family. */
export type RecordKind = 'cdr' | 'abandon';

/** What the journal needs from any record; a CdrDocument is one. */
export interface JournalDoc {
  id: string;
  '@timestamp': string;
  customer_e164?: string;
  agent?: string;
  talked?: boolean;
}

export interface JournalRow {
  id: string;
  kind: RecordKind;
  /** Epoch ms of @timestamp. */
  ts: number;
  /** The document as stored (JSON text): shipped as is, no re-serialisation. */
  json: string;
}

export interface JournalHit {
  agent: string;
  endedAt: DateTime;
  talkSeconds: number;
  via?: 'talk' | 'attempt';
  /** The agent's PBX (the CDR's agent_pbx), when the record names one. */
  pbx?: string;
}

export interface JournalOptions {
  /** Open an existing journal for reading only (the export command, next to a running router). */
  readonly?: boolean;
  /**
   * WAL checkpoints in a worker thread (src/storage/wal-checkpointer.ts), never in a
   * commit on the event loop: the router sets it; short-lived users (CLI, tests) keep
   * SQLite's automatic checkpoint.
   */
  checkpointInWorker?: boolean;
  /** The checkpoint thread failed: SQLite's automatic checkpoint is back on (say so). */
  onCheckpointerFailed?: (err: Error) => void;
}

const schema = `
CREATE TABLE IF NOT EXISTS records (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL DEFAULT 'cdr',
  ts            INTEGER NOT NULL,
  customer_e164 TEXT,
  agent         TEXT,
  talked        INTEGER NOT NULL DEFAULT 0,
  doc           TEXT NOT NULL,
  shipped_at    INTEGER,
  rejected_at   INTEGER,
  ship_error    TEXT
);
-- lastAgentFor: seek by customer, newest first.
CREATE INDEX IF NOT EXISTS records_customer_ts ON records (customer_e164, ts);
-- export / iterate: a time range of one kind.
CREATE INDEX IF NOT EXISTS records_kind_ts ON records (kind, ts, id);
-- the shipper's queue and the backlog count: only rows still to ship.
CREATE INDEX IF NOT EXISTS records_unshipped ON records (ts) WHERE shipped_at IS NULL AND rejected_at IS NULL;
-- pruning: only shipped rows.
CREATE INDEX IF NOT EXISTS records_shipped_at ON records (shipped_at) WHERE shipped_at IS NOT NULL;
-- the cluster's refusals, for the CLI listing and a re-ship.
CREATE INDEX IF NOT EXISTS records_rejected ON records (rejected_at) WHERE rejected_at IS NOT NULL;
-- small durable state: backfill watermarks, when AMI last delivered data.
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

export interface RejectedRow {
  id: string;
  kind: RecordKind;
  ts: number;
  rejected_at: number;
  ship_error: string | null;
}

/** Appends of one event-loop turn, committed together (see appendInTurn). */
export interface TurnItem {
  doc: JournalDoc;
  kind: RecordKind;
}

// Journals with a turn open, committed if the process exits before the tick runs
// (process.exit, an uncaught exception): one listener for all of them.
const openTurns = new Set<Journal>();
let exitHook = false;
function commitOpenTurnsOnExit(j: Journal): void {
  openTurns.add(j);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const t of [...openTurns]) t.commitTurn();
  });
}

export class Journal {
  readonly path: string;
  private readonly db: Database;
  private readonly read: Reads;
  private readonly writes: Writes | undefined;
  private checkpointer: WalCheckpointer | undefined;

  constructor(dataDir: string, opts: JournalOptions = {}) {
    this.path = join(dataDir, 'journal.sqlite');
    if (opts.readonly) {
      this.db = new Database(this.path, { readonly: true, fileMustExist: true });
    } else {
      mkdirSync(dataDir, { recursive: true });
      this.db = new Database(this.path);
      // WAL: readers (export, lookups) never block the writer and vice versa.
      this.db.pragma('journal_mode = WAL');
      // synchronous=NORMAL in WAL mode: a commit survives a crash of this process
      // (it is in the WAL file) but not necessarily a power loss or kernel crash,
      // which can drop the last few commits. FULL would fsync on every CDR, on the
      // event loop that also routes calls, so every ARI event would queue behind a
      // disk flush; a power cut loses the PBX's in-flight calls too, and the
      // shipper's copy in Elasticsearch bounds what is lost.
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(schema);
      if (opts.checkpointInWorker) {
        this.db.pragma('wal_autocheckpoint = 0');
        this.checkpointer = new WalCheckpointer({
          path: this.path,
          onFailed: (err) => {
            if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
            opts.onCheckpointerFailed?.(err);
          },
        });
      }
    }
    // A concurrent checkpoint by another connection: wait briefly rather than fail.
    this.db.pragma('busy_timeout = 1000');

    this.read = prepareReads(this.db);
    this.writes = opts.readonly ? undefined : prepareWrites(this.db);
  }

  private turn: TurnItem[] | undefined;
  /**
   * Told the records of a turn whose commit failed (full disk, I/O error): they were
   * acknowledged, so the caller must hold them (the write buffer does). Without a
   * handler the error is thrown from wherever the commit ran.
   */
  onTurnFailed: ((items: TurnItem[], err: unknown) => void) | undefined;

  private get w(): Writes {
    if (!this.writes) throw new Error(`journal ${this.path} is open read-only`);
    return this.writes;
  }

  /** Stores a record (committed when it returns); false when a record with the same id is already there (an AMI resend). */
  append(doc: JournalDoc, kind: RecordKind = 'cdr'): boolean {
    this.commitTurn();
    return this.insert(doc, kind);
  }

  /**
   * Stores a record in the transaction of this event-loop turn: every record appended
   * while the same AMI socket read (or timer, or request) is processed is committed
   * at once, in a process.nextTick, before the loop takes its next I/O event or timer,
   * and before any other write of this journal. One commit per CDR cost ~60 µs of
   * page writes on the loop that routes calls; per turn it is paid once.
   * Durability: a record is on disk (committed to the WAL) before the process does
   * anything else outside this synchronous run; a crash inside the run itself loses
   * its records as it loses the not yet parsed rest of the same socket read, which
   * the AMI gap backfill replays (its watermark is written on a timer, in a later
   * turn, after this commit). Against power loss nothing changes (synchronous=NORMAL).
   */
  appendInTurn(doc: JournalDoc, kind: RecordKind = 'cdr'): boolean {
    if (!this.turn) {
      this.w.begin.run();
      this.turn = [];
      commitOpenTurnsOnExit(this);
      process.nextTick(() => this.commitTurn());
    }
    let added: boolean;
    try {
      added = this.insert(doc, kind);
    } catch (err) {
      // A failed write may have rolled the transaction back already (SQLITE_FULL, IOERR):
      // the turn's earlier records go back to the caller, who holds them.
      if (isSqliteError(err)) this.abortTurn(err);
      throw err;
    }
    if (added) this.turn.push({ doc, kind });
    return added;
  }

  /** Commits the records of the current turn now (before any other write, on close, on exit). */
  commitTurn(): void {
    const items = this.turn;
    if (!items) return;
    try {
      this.w.commit.run();
      this.turn = undefined;
      openTurns.delete(this);
    } catch (err) {
      this.abortTurn(err);
      if (!this.onTurnFailed) throw err;
    }
  }

  private abortTurn(err: unknown): void {
    const items = this.turn ?? [];
    this.turn = undefined;
    openTurns.delete(this);
    try {
      this.db.exec('ROLLBACK');
    } catch {
      // SQLite already rolled back (SQLITE_FULL, IOERR end the transaction).
    }
    if (items.length > 0) this.onTurnFailed?.(items, err);
  }

  private insert(doc: JournalDoc, kind: RecordKind): boolean {
    const ts = Date.parse(doc['@timestamp']);
    if (!Number.isFinite(ts)) throw new Error(`journal: record ${doc.id} has an invalid @timestamp ${JSON.stringify(doc['@timestamp'])}`);
    const r = this.w.insert.run(doc.id, kind, ts, doc.customer_e164 ?? null, doc.agent ?? null, doc.talked ? 1 : 0, JSON.stringify(doc));
    return r.changes > 0;
  }

  /**
   * Replaces a record's document (same id, e.g. an abandon now resolved) and queues
   * it for shipping again: Elasticsearch gets the new version under the same _id.
   * Stores it when it is not there (pruned); true either way.
   */
  replace(doc: JournalDoc, kind: RecordKind): boolean {
    this.commitTurn();
    const r = this.w.replace.run(JSON.stringify(doc), doc.id, kind);
    return r.changes > 0 || this.append(doc, kind);
  }

  /** Stores many records in one transaction; returns how many were new. */
  appendMany(docs: Iterable<JournalDoc>, kind: RecordKind = 'cdr'): number {
    this.commitTurn();
    return this.db.transaction(() => {
      let added = 0;
      for (const d of docs) if (this.insert(d, kind)) added++;
      return added;
    })();
  }

  /** The oldest records not yet shipped (nor rejected by the cluster). */
  unshipped(limit: number): JournalRow[] {
    return this.read.unshipped.all(limit);
  }

  markShipped(ids: readonly string[], at: DateTime = DateTime.utc()): void {
    this.commitTurn();
    if (ids.length === 0) return;
    const ms = at.toMillis();
    this.db.transaction(() => {
      for (const id of ids) this.w.markShipped.run(ms, id);
    })();
  }

  /**
   * Takes records the cluster refused for good (e.g. a mapping conflict) out of the
   * queue, so they do not block the records behind them; they stay in the journal.
   */
  markRejected(rejects: readonly { id: string; error: string }[], at: DateTime = DateTime.utc()): void {
    this.commitTurn();
    if (rejects.length === 0) return;
    const ms = at.toMillis();
    this.db.transaction(() => {
      for (const r of rejects) this.w.markRejected.run(ms, r.error.slice(0, 2000), r.id);
    })();
  }

  /** True when a record with this id is journaled (a backfill must not learn it twice). */
  has(id: string): boolean {
    return this.read.has.get(id) !== undefined;
  }

  /** A small durable value (backfill watermark, last AMI data time); undefined when never set. */
  getMeta(key: string): string | undefined {
    // Prepared on first use: a read-only journal written by an older version has no meta table.
    this.getMetaStmt ??= this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    return this.getMetaStmt.get(key)?.value;
  }
  private getMetaStmt: Statement<[string], { value: string }> | undefined;

  setMeta(key: string, value: string): void {
    this.commitTurn();
    this.w.setMeta.run(key, value);
  }

  /** Records the cluster refused, oldest refusal first (the `rejected` CLI). */
  rejectedRows(limit = 100): RejectedRow[] {
    return this.read.rejectedRows.all(limit);
  }

  /**
   * Puts refused records back in the shipping queue (after the operator fixed the
   * template or the index): all of them, or the given ids. Returns how many.
   */
  reship(ids?: readonly string[]): number {
    this.commitTurn();
    if (!ids) return this.w.reshipAll.run().changes;
    return this.db.transaction(() => {
      let n = 0;
      for (const id of ids) n += this.w.reshipOne.run(id).changes;
      return n;
    })();
  }

  /** Records waiting to be shipped. */
  backlog(): number {
    return this.read.backlog.get()?.n ?? 0;
  }

  /** Records the cluster refused (kept, not retried). */
  rejected(): number {
    return this.read.rejected.get()?.n ?? 0;
  }

  /**
   * Deletes records shipped before `shippedBefore`; at most `maxRows` (a bounded
   * pause of the event loop: call again while it returns maxRows). Unshipped
   * records are never pruned.
   */
  prune(shippedBefore: DateTime, maxRows = Number.MAX_SAFE_INTEGER): number {
    this.commitTurn();
    return this.w.prune.run(shippedBefore.toMillis(), maxRows).changes;
  }

  /**
   * Journal-only mode (no ES_NODE): the journal is the store, nothing is ever
   * shipped, so records are kept for the retention period by their own time.
   */
  pruneOlderThan(before: DateTime, maxRows = Number.MAX_SAFE_INTEGER): number {
    this.commitTurn();
    return this.w.pruneOld.run(before.toMillis(), maxRows).changes;
  }

  /** The agent of the latest conversation with `e164` that ended at or after `since`. */
  lastAgentFor(e164: string, since: DateTime): JournalHit | undefined {
    const row = this.read.lastAgent.get(e164, since.toMillis());
    if (!row) return undefined;
    return { agent: row.agent, endedAt: DateTime.fromMillis(row.ts, { zone: 'utc' }), talkSeconds: Number(row.talk_seconds ?? 0), ...(row.agent_pbx ? { pbx: row.agent_pbx } : {}) };
  }

  /**
   * The `limit` most recent distinct agents of conversations with `e164` since
   * `since` (with `attempts`, also agents' unanswered outbound calls), newest first.
   */
  lastAgentsFor(e164: string, since: DateTime, limit: number, attempts: boolean): JournalHit[] {
    return this.read.lastAgents.all(e164, since.toMillis(), attempts ? 1 : 0, limit).map((row) => ({
      agent: row.agent,
      endedAt: DateTime.fromMillis(row.ts, { zone: 'utc' }),
      talkSeconds: Number(row.talk_seconds ?? 0),
      via: row.talked ? 'talk' : 'attempt',
      ...(row.agent_pbx ? { pbx: row.agent_pbx } : {}),
    }));
  }

  /**
   * Records of `kind` with @timestamp in [from, to), oldest first, one row in
   * memory at a time. The connection is busy while the generator is open: use a
   * Journal of its own (e.g. readonly) for long exports.
   */
  *iterate(from: DateTime, to: DateTime, kind: RecordKind = 'cdr'): Generator<JournalRow, void, undefined> {
    yield* this.read.range.iterate(kind, from.toMillis(), to.toMillis());
  }

  /** Retention deleted this recording: sets recording.deleted_at on the CDRs naming it. Returns how many. */
  markRecordingDeleted(file: string, at: DateTime): number {
    this.commitTurn();
    return this.w.markRecordingDeleted.run(at.toUTC().toISO()!, file).changes;
  }

  close(): void {
    void this.checkpointer?.close();
    this.checkpointer = undefined;
    if (this.db.open) {
      this.commitTurn();
      this.db.close();
    }
  }
}

// Prepared once per connection: preparing is the slow part of a SQLite statement.
function prepareReads(db: Database) {
  return {
    unshipped: db.prepare<[number], JournalRow>(
      'SELECT id, kind, ts, doc AS json FROM records WHERE shipped_at IS NULL AND rejected_at IS NULL ORDER BY ts LIMIT ?',
    ),
    backlog: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM records WHERE shipped_at IS NULL AND rejected_at IS NULL'),
    rejected: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM records WHERE rejected_at IS NOT NULL'),
    lastAgent: db.prepare<[string, number], { agent: string; ts: number; talk_seconds: number | null; agent_pbx: string | null }>(
      // INDEXED BY: without statistics the planner may prefer (kind, ts), and kind = 'cdr' matches nearly every row.
      `SELECT agent, ts, json_extract(doc, '$.talk_seconds') AS talk_seconds, json_extract(doc, '$.agent_pbx') AS agent_pbx FROM records INDEXED BY records_customer_ts
       WHERE customer_e164 = ? AND ts >= ? AND talked = 1 AND kind = 'cdr' AND agent IS NOT NULL
       ORDER BY ts DESC LIMIT 1`,
    ),
    lastAgents: db.prepare<[string, number, number, number], { agent: string; ts: number; talk_seconds: number | null; talked: number; agent_pbx: string | null }>(
      // One row per agent (an extension on a PBX), its newest (SQLite takes bare columns from the MAX() row).
      // The attempt flag and the agent's PBX live in the document: only this caller's rows are read.
      `SELECT agent, MAX(ts) AS ts, json_extract(doc, '$.talk_seconds') AS talk_seconds, talked, json_extract(doc, '$.agent_pbx') AS agent_pbx FROM records INDEXED BY records_customer_ts
       WHERE customer_e164 = ? AND ts >= ? AND kind = 'cdr' AND agent IS NOT NULL
         AND (talked = 1 OR (? = 1 AND json_extract(doc, '$.attempt') = 1))
       GROUP BY agent, agent_pbx ORDER BY ts DESC LIMIT ?`,
    ),
    has: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM records WHERE id = ?'),
    rejectedRows: db.prepare<[number], RejectedRow>(
      'SELECT id, kind, ts, rejected_at, ship_error FROM records WHERE rejected_at IS NOT NULL ORDER BY rejected_at, ts LIMIT ?',
    ),
    range: db.prepare<[RecordKind, number, number], JournalRow>(
      'SELECT id, kind, ts, doc AS json FROM records WHERE kind = ? AND ts >= ? AND ts < ? ORDER BY ts, id',
    ),
  };
}

function isSqliteError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') && !code.startsWith('SQLITE_CONSTRAINT');
}

function prepareWrites(db: Database) {
  return {
    begin: db.prepare('BEGIN'),
    commit: db.prepare('COMMIT'),
    insert: db.prepare<[string, string, number, string | null, string | null, number, string]>(
      'INSERT OR IGNORE INTO records (id, kind, ts, customer_e164, agent, talked, doc) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    replace: db.prepare<[string, string, RecordKind]>('UPDATE records SET doc = ?, shipped_at = NULL, rejected_at = NULL, ship_error = NULL WHERE id = ? AND kind = ?'),
    markShipped: db.prepare<[number, string]>('UPDATE records SET shipped_at = ? WHERE id = ?'),
    markRejected: db.prepare<[number, string, string]>('UPDATE records SET rejected_at = ?, ship_error = ? WHERE id = ?'),
    reshipAll: db.prepare<[]>('UPDATE records SET rejected_at = NULL, shipped_at = NULL WHERE rejected_at IS NOT NULL'),
    reshipOne: db.prepare<[string]>('UPDATE records SET rejected_at = NULL, shipped_at = NULL WHERE id = ? AND rejected_at IS NOT NULL'),
    setMeta: db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    prune: db.prepare<[number, number]>(
      'DELETE FROM records WHERE rowid IN (SELECT rowid FROM records WHERE shipped_at IS NOT NULL AND shipped_at < ? LIMIT ?)',
    ),
    pruneOld: db.prepare<[number, number]>('DELETE FROM records WHERE rowid IN (SELECT rowid FROM records WHERE ts < ? LIMIT ?)'),
    // Retention runs rarely (hourly) and JOURNAL_RETENTION bounds the rows: a scan is fine.
    markRecordingDeleted: db.prepare<[string, string]>(
      "UPDATE records SET doc = json_set(doc, '$.recording.deleted_at', ?) WHERE kind = 'cdr' AND json_extract(doc, '$.recording.file') = ?",
    ),
  };
}

type Reads = ReturnType<typeof prepareReads>;
type Writes = ReturnType<typeof prepareWrites>;
