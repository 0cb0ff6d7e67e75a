// CDRs the router did not get on AMI, read back from Asterisk's own store. Each
// row becomes the same document as its AMI Cdr event (same fields, same id), so a
// row already learned live is ignored by the journal and never learned twice. The
// times come from the store's epoch columns: no time zone can shift them.
import { DateTime } from 'luxon';
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
  batch?: number;
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
}

/** Same document as the AMI path, with the store's zone-free epoch times. */
export function docFromStored(row: StoredCdr, toDoc: (fields: AmiFields) => CdrDocument | undefined): CdrDocument | undefined {
  const doc = toDoc(row.fields);
  if (!doc) return undefined;
  const iso = (ms: number) => DateTime.fromMillis(ms, { zone: 'utc' }).toISO()!;
  if (row.endMs !== undefined) {
    doc['@timestamp'] = iso(row.endMs);
    doc.asterisk.end = iso(row.endMs);
  }
  if (row.startMs !== undefined) doc.asterisk.start = iso(row.startMs);
  if (row.answerMs !== undefined) doc.asterisk.answer = iso(row.answerMs);
  else delete doc.asterisk.answer;
  return doc;
}

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

  /** Reads every row posted since the last run. Throws when the store cannot be read. */
  run(): CdrBackfillResult {
    const now = (this.o.now ?? Date.now)();
    const batch = this.o.batch ?? 500;
    let after = this.watermark;
    const max = this.o.store.maxRowid();
    if (after < 0 || after > max) {
      // First start, or the file was replaced (rowids begin again): from BACKFILL_MAX_AGE ago.
      if (after > max) this.o.log.warn({ store: this.o.store.path, remembered: after, newest: max }, 'cdr store has fewer rows than already read (replaced or truncated?); reading it again from BACKFILL_MAX_AGE');
      after = this.o.store.firstRowidEndingAfter(now - this.o.maxAgeMs) - 1;
    }
    // Only calls that ended during the current AMI session can still come live.
    const since = this.o.amiSince();
    const settleFrom = since === undefined ? Infinity : Math.max(since - 1000, now - (this.o.settleMs ?? 5000));
    const out: CdrBackfillResult = { read: 0, learned: 0 };
    for (;;) {
      const rows = this.o.store.rowsAfter(after, batch);
      let stop = false;
      for (const row of rows) {
        if ((row.endMs ?? 0) > settleFrom) {
          stop = true; // younger rows: the live path has them, or the follow-up run will
          out.deferred = true;
          break;
        }
        const tooOld = row.endMs !== undefined && row.endMs < now - this.o.maxAgeMs;
        const doc = tooOld ? undefined : docFromStored(row, this.o.toDoc);
        const r = doc ? this.o.ingest(doc) : 'known';
        if (r === 'refused') {
          stop = true;
          break;
        }
        after = row.rowid;
        out.read++;
        if (r === 'new') {
          out.learned++;
          out.learnedUpTo = Math.max(out.learnedUpTo ?? 0, row.endMs ?? 0);
        }
      }
      this.o.meta.setMeta(this.key, String(after));
      if (stop || rows.length < batch) break;
    }
    return out;
  }

  close(): void {
    this.o.store.close();
  }
}
