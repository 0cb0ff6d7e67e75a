// CDRs the router did not get on AMI, read back from Asterisk's own store. Each
// row becomes the same document as its AMI Cdr event (same fields, same id), so a
// row already learned live is ignored by the journal and never learned twice. The
// times come from the store's epoch columns: no time zone can shift them.
//
// The run shares the event loop with call routing: it works in turns of at most
// `turnMs` (a few hundred rows), writes the watermark at the end of each turn (after
// that turn's CDRs are committed to the journal) and yields to the loop
// (setImmediate) before the next, so a 100k-row backfill after a long outage never
// holds an ARI event or a timer for longer than one turn. AMI events are handled
// between turns too: a CDR that arrives live and is also read back has the same id,
// and the journal keeps the first.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isoFromMillis } from '../pbx-time.js';
import type { Logger } from '../../log.js';
import type { AmiFields } from '../from-ami.js';
import type { CdrDocument } from '../schema.js';
import type { CdrStore, StoredCdr } from './cdr-store.js';

export interface WatermarkStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}

export interface CdrBackfillOptions {
  store: CdrStore;
  meta: WatermarkStore;
  /** The live path's converter (cdrFromAmiEvent with the router's options). */
  toDoc: (fields: AmiFields) => CdrDocument | undefined;
  /**
   * The live path's ingest: journal, memory, shipper. `refused`: the local write
   * buffer is full; the row is read again at the next run.
   */
  ingest: (doc: CdrDocument) => 'new' | 'known' | 'refused';
  /** No row older than this is read (first start, or a store that was replaced). */
  maxAgeMs: number;
  /**
   * While AMI is up, rows younger than this are left to the live path (its event carries
   * what the router knew about the call) and read at the next run.
   */
  settleMs?: number;
  /** When the current AMI session logged in; undefined while there is none. */
  amiSince: () => number | undefined;
  log: Logger;
  now?: () => number;
  /** Rows read per query. Default 100. */
  batch?: number;
  /** Longest stretch of one turn on the event loop before it yields (ms). Default 20. */
  turnMs?: number;
}

export interface CdrBackfillRunOptions {
  /** Asked between turns: true ends the run there (stopping, DATA_DIR failing); the watermark is where it stopped. */
  stop?: () => boolean;
}

export interface CdrBackfillResult {
  /** Rows read from the store. */
  read: number;
  /** Of those, CDRs the journal did not have: what AMI had not delivered. */
  learned: number;
  /** The newest call end among the learned ones (epoch ms). */
  learnedUpTo?: number;
  /** Rows left for the live path (young, this AMI session): read again in `settleMs`. */
  deferred?: boolean;
  /** Ended early by `stop()`: rows after the watermark are read at the next run. */
  stopped?: boolean;
}

/** Same document as the AMI path, with the store's zone-free epoch times. */
export function docFromStored(row: StoredCdr, toDoc: (fields: AmiFields) => CdrDocument | undefined): CdrDocument | undefined {
  const doc = toDoc(row.fields);
  if (!doc) return undefined;
  const iso = isoFromMillis;
  if (row.endMs !== undefined) {
    doc['@timestamp'] = iso(row.endMs);
    doc.asterisk.end = iso(row.endMs);
  }
  if (row.startMs !== undefined) doc.asterisk.start = iso(row.startMs);
  if (row.answerMs !== undefined) doc.asterisk.answer = iso(row.answerMs);
  else delete doc.asterisk.answer;
  return doc;
}

/** Rows of the first-start scan per turn: ~5-10 ms of SQLite. */
const SCAN_ROWS = 20_000;

export class CdrBackfill {
  private readonly key: string;

  constructor(private readonly o: CdrBackfillOptions) {
    this.key = `backfill.cdr:${o.store.path}#${o.store.table}`;
  }

  get settleMs(): number {
    return this.o.settleMs ?? 5000;
  }

  get storePath(): string {
    return this.o.store.path;
  }

  /** The last row read (-1 before the first run). */
  get watermark(): number {
    const raw = this.o.meta.getMeta(this.key);
    const n = raw === undefined ? Number.NaN : Number(raw);
    return Number.isFinite(n) ? n : -1;
  }

  /**
   * Reads every row posted since the last run, in turns (see the top of this file).
   * Rejects when the store cannot be read; the watermark then stays at the last turn
   * that was committed.
   */
  async run(opts: CdrBackfillRunOptions = {}): Promise<CdrBackfillResult> {
    const now = (this.o.now ?? Date.now)();
    const batch = this.o.batch ?? 100;
    const turnMs = this.o.turnMs ?? 20;
    let after = this.watermark;
    const max = this.o.store.maxRowid();
    if (after < 0 || after > max) {
      // First start, or the file was replaced (rowids begin again): from BACKFILL_MAX_AGE ago.
      if (after > max) this.o.log.warn({ store: this.o.store.path, remembered: after, newest: max }, 'cdr store has fewer rows than already read (replaced or truncated?); reading it again from BACKFILL_MAX_AGE');
      const first = await this.firstRowidEndingAfter(now - this.o.maxAgeMs, max, opts);
      if (first === undefined) return { read: 0, learned: 0, stopped: true };
      after = first - 1;
    }
    // Only calls that ended during the current AMI session can still come live.
    const since = this.o.amiSince();
    const settleFrom = since === undefined ? Infinity : Math.max(since - 1000, now - (this.o.settleMs ?? 5000));
    const oldest = now - this.o.maxAgeMs;
    const out: CdrBackfillResult = { read: 0, learned: 0 };
    let saved = this.watermark;
    for (;;) {
      const turnEnd = performance.now() + turnMs;
      let done = false;
      let turnOver = false;
      while (!done && !turnOver) {
        const rows = this.o.store.rowsAfter(after, batch);
        let i = 0;
        for (; i < rows.length; i++) {
          const row = rows[i]!;
          if ((row.endMs ?? 0) > settleFrom) {
            done = true; // younger rows: the live path has them, or the follow-up run will
            out.deferred = true;
            break;
          }
          const tooOld = row.endMs !== undefined && row.endMs < oldest;
          const doc = tooOld ? undefined : docFromStored(row, this.o.toDoc);
          const r = doc ? this.o.ingest(doc) : 'known';
          if (r === 'refused') {
            done = true;
            break;
          }
          after = row.rowid;
          out.read++;
          if (r === 'new') {
            out.learned++;
            out.learnedUpTo = Math.max(out.learnedUpTo ?? 0, row.endMs ?? 0);
          }
          // Checked per row: a slow disk or a busy machine cannot stretch a turn by a whole batch.
          if (performance.now() >= turnEnd) {
            turnOver = true;
            i++;
            break;
          }
        }
        // A short batch read to its end: nothing more was posted.
        if (!done && !turnOver && rows.length < batch) done = true;
        if (turnOver && i === rows.length && rows.length < batch) done = true;
      }
      // setMeta commits the journal's turn first: the watermark never passes a CDR that is not journaled.
      if (after !== saved) {
        this.o.meta.setMeta(this.key, String(after));
        saved = after;
      }
      if (done) break;
      await nextTurn();
      if (opts.stop?.()) {
        out.stopped = true;
        break;
      }
    }
    return out;
  }

  /**
   * Where a first run begins, scanned SCAN_ROWS rows per turn (a store Asterisk never
   * prunes can hold millions); undefined when told to stop meanwhile.
   */
  private async firstRowidEndingAfter(ms: number, max: number, opts: CdrBackfillRunOptions): Promise<number | undefined> {
    const start = this.o.store.minRowid() - 1;
    for (let from = start; from < max; from += SCAN_ROWS) {
      if (from > start) {
        await nextTurn();
        if (opts.stop?.()) return undefined;
      }
      const found = this.o.store.firstRowidEndingAfter(ms, from, from + SCAN_ROWS);
      if (found !== undefined) return found;
    }
    return max + 1;
  }

  close(): void {
    this.o.store.close();
  }
}
