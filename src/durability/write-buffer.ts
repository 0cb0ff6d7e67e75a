// Keeps what could not be written to DATA_DIR (disk full, read-only file system,
// a SQLite file locked by another process) in a bounded in-memory queue, retries
// with backoff, and writes everything once and in order when the disk takes it
// again. While anything waits, new items queue behind it (order is kept) and are
// not tried one by one: a locked file would otherwise hold the event loop for
// busy_timeout on every CDR. One log line per state change, not per item.
import type { Logger } from '../log.js';
import { backoffDelay } from '../backoff.js';

export type WriteState = 'ok' | 'buffering';

export type SubmitResult<R> = { status: 'written'; result: R } | { status: 'buffered' } | { status: 'refused' };

export interface WriteBufferOptions<T, R> {
  /** What is being written, for logs, metrics and /readyz (e.g. "journal", "outbox"). */
  name: string;
  write: (item: T) => R;
  /** Items held at most; beyond it new items are refused (counted, logged once per episode). */
  max: number;
  log: Logger;
  /**
   * Makes what `write` wrote durable, where writes are batched (the journal's per-turn
   * commit). A failed commit hands its items back through holdFront; the buffer is
   * recovered only once the commit went through.
   */
  commit?: () => void;
  /** After a buffered item was finally written. */
  onWritten?: (item: T, result: R) => void;
  onStateChange?: (state: WriteState) => void;
  retryBaseMs?: number;
  retryCapMs?: number;
  now?: () => number;
}

/** Errors of the disk or the file, not of the record: worth keeping the record and retrying. */
export function isLocalWriteFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return /^SQLITE_(FULL|READONLY|BUSY|LOCKED|IOERR|CANTOPEN|PROTOCOL|NOMEM|NOLFS)/.test(code) || ['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EDQUOT', 'EIO'].includes(code);
}

export class WriteBuffer<T, R> {
  private readonly queue: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private since: number | undefined;
  private refusedInEpisode = 0;
  private closed = false;
  /** Items refused because the buffer was full (whole process life). */
  refusedTotal = 0;
  /** Failed write attempts (whole process life). */
  failedAttempts = 0;
  lastError: string | undefined;

  constructor(private readonly o: WriteBufferOptions<T, R>) {}

  get name(): string {
    return this.o.name;
  }

  get state(): WriteState {
    return this.queue.length > 0 ? 'buffering' : 'ok';
  }

  get size(): number {
    return this.queue.length;
  }

  /** When the current episode of failures began (epoch ms), if one is under way. */
  get failingSince(): number | undefined {
    return this.since;
  }

  /**
   * Writes now, or queues behind earlier items that are still waiting. Throws what
   * `write` throws when the error is about the item, not the disk.
   */
  submit(item: T): SubmitResult<R> {
    if (this.queue.length > 0) return this.enqueue(item);
    try {
      return { status: 'written', result: this.o.write(item) };
    } catch (err) {
      if (!isLocalWriteFailure(err)) throw err;
      this.failed(err);
      return this.enqueue(item);
    }
  }

  /**
   * Puts back, in front and in order, items whose write was acknowledged but did not
   * reach the disk after all (a batch commit that failed). Beyond `max` too: they were
   * accepted, so refusing them now would lose them.
   */
  holdFront(items: readonly T[], err: unknown): void {
    if (items.length === 0) return;
    if (this.closed) {
      this.o.log.error({ store: this.o.name, lost: items.length, err }, 'records acknowledged but not written to DATA_DIR while stopping');
      return;
    }
    this.queue.unshift(...items);
    this.failed(err);
    this.schedule();
  }

  /** Tries the queue now (e.g. in a test, or when an operator says the disk is back). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      let result: R;
      try {
        result = this.o.write(item);
      } catch (err) {
        if (!isLocalWriteFailure(err)) {
          // The record itself is bad (a bug): drop it loudly rather than block the rest forever.
          this.queue.shift();
          this.o.log.error({ err, store: this.o.name }, 'buffered record could not be written and was dropped');
          continue;
        }
        this.failed(err);
        this.schedule();
        return;
      }
      this.queue.shift();
      this.o.onWritten?.(item, result);
    }
    this.o.commit?.();
    // A failed commit put its items back in front (holdFront) and scheduled a retry.
    if (this.queue.length > 0) return;
    this.recovered();
  }

  /** Stops retrying; returns what is still waiting (lost unless the caller keeps it). */
  close(): number {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.queue.length > 0) this.o.log.error({ store: this.o.name, buffered: this.queue.length, err: this.lastError }, 'stopping with records not yet written to DATA_DIR');
    return this.queue.length;
  }

  private enqueue(item: T): SubmitResult<R> {
    if (this.queue.length >= this.o.max) {
      this.refusedTotal++;
      if (this.refusedInEpisode++ === 0) {
        this.o.log.error({ store: this.o.name, max: this.o.max, err: this.lastError }, 'local write buffer full: new records are refused until DATA_DIR can be written');
      }
      return { status: 'refused' };
    }
    this.queue.push(item);
    this.schedule();
    return { status: 'buffered' };
  }

  private failed(err: unknown): void {
    this.failedAttempts++;
    this.failures++;
    const e = err as { code?: string; message?: string };
    this.lastError = `${e.code ?? 'error'}: ${e.message ?? String(err)}`;
    if (this.since === undefined) {
      this.since = (this.o.now ?? Date.now)();
      this.o.log.error({ store: this.o.name, err: this.lastError }, 'cannot write to DATA_DIR; holding records in memory and retrying');
      this.o.onStateChange?.('buffering');
    }
  }

  private recovered(): void {
    if (this.since === undefined) return;
    const now = (this.o.now ?? Date.now)();
    this.o.log.warn({ store: this.o.name, failingMs: now - this.since, refused: this.refusedInEpisode, attempts: this.failures }, 'DATA_DIR writable again; every held record written');
    this.since = undefined;
    this.failures = 0;
    this.refusedInEpisode = 0;
    this.o.onStateChange?.('ok');
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const delay = backoffDelay(Math.max(0, this.failures - 1), this.o.retryBaseMs ?? 500, this.o.retryCapMs ?? 10_000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, delay);
    this.timer.unref();
  }
}
