// Ships journal records to Elasticsearch, in the background, at least once and
// without duplicates: each record is indexed with its deterministic id as _id, so
// a resend (after a timeout, a crash, a restart) overwrites itself. Only records
// the cluster acknowledged are marked shipped; the rest stay queued in the
// journal and are retried with backoff while the cluster is down.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { backoffDelay, sleep } from '../backoff.js';
import type { Logger } from '../log.js';
import { describeEsError } from './es-client.js';
import { abandonIndexPrefix, dailyIndex } from './index-names.js';
import type { Journal, JournalRow } from './journal.js';

export interface ShipperOptions {
  journal: Journal;
  client: Client;
  /** ES_INDEX_PREFIX. */
  prefix: string;
  log: Logger;
  /** Records per bulk request. Default 1000. */
  batchSize?: number;
  /** Per bulk request: short, so a hung cluster is noticed and retried. Default 5 s. */
  bulkTimeoutMs?: number;
  /** Backoff between failed attempts: first and cap. Default 500 ms, 30 s. */
  retryBaseMs?: number;
  retryCapMs?: number;
  /** Shipped records are kept this long, then pruned. Default 7 days. */
  retentionMs?: number;
  /** How often to prune. Default 1 h. */
  pruneEveryMs?: number;
  /** Poll the journal this often even without notify() (e.g. rows written by another process). Default 5 s. */
  idlePollMs?: number;
  now?: () => DateTime;
  /**
   * Installs (or checks) the index templates. Called before the first bulk, before a
   * bulk that would create a daily index this shipper has not written to yet, and
   * after the cluster was unreachable: a bulk must never create an index without
   * them (numbers would be mapped as text and lookups would never match).
   */
  ensureTemplates?: () => Promise<unknown>;
  /** The templates are known to be in place already (installed at start). */
  templatesInstalled?: boolean;
}

export interface ShipperStats {
  shipped: number;
  /** Failed attempts (cluster unreachable, timeout, per-document transient errors). */
  errors: number;
  /** Records the cluster refused for good (HTTP 400 per document); kept in the journal, not retried. */
  rejected: number;
  lastError: string | undefined;
  /** Records waiting in the journal, as of the last attempt. */
  backlog: number;
  lastShippedAt: DateTime | undefined;
}

const PRUNE_CHUNK = 5000;

export class Shipper {
  private readonly o: Required<Omit<ShipperOptions, 'now' | 'ensureTemplates' | 'templatesInstalled'>> & Pick<ShipperOptions, 'ensureTemplates'> & { now: () => DateTime };
  private templatesOk: boolean;
  /** Daily indices written to since the templates were last checked. */
  private readonly checkedIndices = new Set<string>();
  private readonly counters: ShipperStats = { shipped: 0, errors: 0, rejected: 0, lastError: undefined, backlog: 0, lastShippedAt: undefined };
  private readonly stopping = new AbortController();
  private wake: (() => void) | undefined;
  private pending = false;
  private loop: Promise<void> | undefined;
  private lastPruneMs = 0;

  constructor(opts: ShipperOptions) {
    this.o = {
      batchSize: 1000,
      bulkTimeoutMs: 5000,
      retryBaseMs: 500,
      retryCapMs: 30_000,
      retentionMs: 7 * 24 * 3600_000,
      pruneEveryMs: 3600_000,
      idlePollMs: 5000,
      now: () => DateTime.utc(),
      ...opts,
    };
    this.templatesOk = opts.templatesInstalled ?? false;
  }

  get stats(): Readonly<ShipperStats> {
    return { ...this.counters };
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      // Only a bug gets here (ship() catches cluster errors); say so loudly.
      this.o.log.error({ err }, 'cdr shipper stopped unexpectedly');
    });
  }

  /** New records are in the journal: ship them now rather than at the next poll. */
  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Stops after the batch in flight (if any) has been sent and recorded. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    let failures = 0;
    while (!signal.aborted) {
      let ok: boolean;
      let rows: JournalRow[];
      try {
        await this.pruneIfDue();
        this.pending = false;
        rows = this.o.journal.unshipped(this.o.batchSize);
        if (rows.length === 0) {
          this.counters.backlog = 0;
          await this.idle();
          continue;
        }
        ok = (await this.templatesReady(rows)) && (await this.ship(rows));
        this.counters.backlog = this.o.journal.backlog();
      } catch (err) {
        // The journal itself failed (disk full while marking rows shipped, a locked file):
        // unmarked rows are sent again later under the same _id, which overwrites, never duplicates.
        ok = false;
        rows = [];
        this.counters.errors++;
        this.counters.lastError = (err as Error).message;
        this.o.log.warn({ err: (err as Error).message }, 'cdr shipping paused: the journal cannot be read or updated; will retry');
      }
      if (ok) {
        failures = 0;
        // A full batch means more is waiting: go again, but let calls through first.
        if (rows.length === this.o.batchSize) await yieldToEventLoop();
        continue;
      }
      // notify() does not cut a backoff short: appends during an outage must not hammer the cluster.
      await sleep(backoffDelay(failures++, this.o.retryBaseMs, this.o.retryCapMs), signal);
    }
  }

  /** Templates checked for every daily index of the batch; false (retry later) when the cluster did not answer. */
  private async templatesReady(rows: JournalRow[]): Promise<boolean> {
    const ensure = this.o.ensureTemplates;
    if (!ensure) return true;
    const indices = new Set(rows.map((r) => this.indexFor(r)));
    const fresh = [...indices].filter((i) => !this.checkedIndices.has(i));
    if (this.templatesOk && fresh.length === 0) return true;
    try {
      await ensure();
    } catch (err) {
      this.counters.errors++;
      this.counters.lastError = describeEsError(err);
      this.o.log.warn({ err: this.counters.lastError, indices: fresh, step: 'index templates' }, 'cdr shipping failed; will retry');
      return false;
    }
    if (!this.templatesOk) this.o.log.info({ indices: fresh }, 'index templates checked; shipping');
    this.templatesOk = true;
    for (const i of fresh) this.checkedIndices.add(i);
    if (this.checkedIndices.size > 64) {
      // Only the last few days matter; keep the set small.
      for (const i of [...this.checkedIndices].slice(0, this.checkedIndices.size - 32)) this.checkedIndices.delete(i);
    }
    return true;
  }

  /** Sends one batch; true when every record was either acknowledged or refused for good. */
  private async ship(rows: JournalRow[]): Promise<boolean> {
    const acked: string[] = [];
    const refused: { id: string; error: string }[] = [];
    let transient = 0;
    let failure: string | undefined;
    try {
      await this.o.client.helpers.bulk<JournalRow>(
        {
          datasource: rows,
          // The stored JSON goes out as is: no parse and re-serialise per record.
          onDocument: (row) => [{ index: { _index: this.indexFor(row), _id: row.id } }, row.json],
          onSuccess: ({ result }) => {
            const id = result.index?._id;
            if (id) acked.push(id);
          },
          onDrop: (d) => {
            const id = (d.document as { id?: unknown } | null)?.id;
            if (typeof id !== 'string') return;
            const error = `HTTP ${d.status} ${d.error?.type ?? ''}: ${d.error?.reason ?? ''}`;
            // 400 is the document itself (a mapping conflict): resending cannot help. Everything
            // else (429, 5xx, 403 write block, 404 with auto-create off) an operator or time fixes: retry.
            if (d.status === 400) refused.push({ id, error });
            else {
              transient++;
              failure ??= error;
            }
          },
          // One request per batch, in order; document retries are this loop's job (with backoff).
          concurrency: 1,
          flushBytes: 16 * 1024 * 1024,
          retries: 0,
        },
        { requestTimeout: this.o.bulkTimeoutMs, maxRetries: 0 },
      );
    } catch (err) {
      failure = describeEsError(err);
      // The cluster did not answer: it may come back empty or rebuilt; check the templates again first.
      this.templatesOk = false;
      this.checkedIndices.clear();
    }
    const unaccounted = rows.length - acked.length - refused.length - transient;
    // Never loop hot on a response that acknowledged less than it was sent (a proxy, a partial body).
    if (failure === undefined && unaccounted > 0) failure = `bulk response accounted for ${rows.length - unaccounted} of ${rows.length} records`;
    const at = this.o.now();
    this.o.journal.markShipped(acked, at);
    this.o.journal.markRejected(refused, at);
    this.counters.shipped += acked.length;
    this.counters.rejected += refused.length;
    if (acked.length > 0) this.counters.lastShippedAt = at;
    if (refused.length > 0) {
      this.o.log.error({ count: refused.length, first: refused[0] }, 'elasticsearch refused cdr records; kept in the journal, not retried');
    }
    if (failure !== undefined || transient > 0) {
      this.counters.errors++;
      this.counters.lastError = failure;
      this.o.log.warn({ err: failure, acked: acked.length, pending: rows.length - acked.length - refused.length }, 'cdr shipping failed; will retry');
      return false;
    }
    return true;
  }

  private indexFor(row: JournalRow): string {
    const prefix = row.kind === 'abandon' ? abandonIndexPrefix(this.o.prefix) : this.o.prefix;
    return dailyIndex(prefix, DateTime.fromMillis(row.ts, { zone: 'utc' }));
  }

  /** Waits for notify(), stop() or the idle poll. */
  private async idle(): Promise<void> {
    if (this.pending || this.stopping.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.o.idlePollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  /** Deletes shipped records past retention, a chunk at a time so calls are never held up. */
  private async pruneIfDue(): Promise<void> {
    const nowMs = this.o.now().toMillis();
    if (nowMs - this.lastPruneMs < this.o.pruneEveryMs) return;
    this.lastPruneMs = nowMs;
    const cutoff = DateTime.fromMillis(nowMs - this.o.retentionMs, { zone: 'utc' });
    let total = 0;
    for (;;) {
      const n = this.o.journal.prune(cutoff, PRUNE_CHUNK);
      total += n;
      if (n < PRUNE_CHUNK || this.stopping.signal.aborted) break;
      await yieldToEventLoop();
    }
    if (total > 0) this.o.log.info({ pruned: total, shippedBefore: cutoff.toISO() }, 'pruned shipped cdr records from the journal');
  }
}
