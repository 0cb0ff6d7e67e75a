// Delivers queued notifications: one worker loop per channel, so a receiver that
// is down or slow delays only its own channel. At least once: a row is marked
// delivered only after the receiver accepted it; a crash or stop() mid-send
// leaves it queued and a new Outbox over the same file sends it again with the
// same idempotency key.
//
// Retry policy (the notifiers classify failures, see notifiers/http.ts and
// notifiers/email.ts): retryable failures are retried forever with exponential
// backoff and jitter (base 1 s, cap 60 s, or longer if the receiver sent
// Retry-After, up to 10 min); permanent ones mark the row failed, keep it with
// its last error, and `requeueFailed()` can put it back. After a retryable
// failure the whole channel pauses for the backoff, so a receiver that is down
// gets one probe per interval instead of one request per queued message.
import type { Logger } from '../log.js';
import { runDeliveryLoop, Wakeup } from '../durability/delivery-loop.js';
import type { Notifier } from './notifiers/types.js';
import { OutboxStore, type EnqueueResult, type RecentAbandon } from './outbox-store.js';
import { WriteBuffer, type WriteState } from '../durability/write-buffer.js';
import type { AbandonRecord } from './record.js';
import type { Notification } from './notification.js';

export type { EnqueueResult, RecentAbandon } from './outbox-store.js';

export interface OutboxOptions {
  /** The outbox lives in `${dataDir}/outbox.sqlite`. */
  dataDir: string;
  notifiers: readonly Notifier[];
  /** NOTIFY_DEDUPE_WINDOW in ms; 0 turns deduplication off. */
  dedupeWindowMs: number;
  log: Logger;
  now?: () => number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Longest Retry-After honoured. */
  maxRetryAfterMs?: number;
  /** Finished deliveries and old abandons are pruned after this long (default 7 days). */
  retainMs?: number;
  /** Abandons held in memory while outbox.sqlite cannot be written (LOCAL_BUFFER_MAX). */
  bufferMax?: number;
  onWriteStateChange?: (state: WriteState) => void;
  /** After each delivery, with the receiver's message reference if it gave one (follow-up.ts keeps it). */
  onDelivered?: (notificationId: string, channel: string, ref: string | undefined) => void;
}

const IDLE_RECHECK_MS = 60_000;
const PRUNE_EVERY_MS = 3_600_000;

export class Outbox {
  private readonly store: OutboxStore;
  private readonly now: () => number;
  private readonly channels: string[];
  private readonly stopping = new AbortController();
  private readonly wakeup = new Wakeup(this.stopping.signal, IDLE_RECHECK_MS);
  private loops: Promise<void>[] = [];
  private pruneTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: OutboxOptions) {
    this.store = new OutboxStore(o.dataDir);
    this.now = o.now ?? Date.now;
    this.channels = o.notifiers.map((n) => n.channel);
    this.writes = new WriteBuffer<AbandonRecord, EnqueueResult>({
      name: 'outbox',
      max: o.bufferMax ?? 10_000,
      log: o.log,
      // A short abandon is kept (the recall list and statistics read it) but notifies nobody.
      write: (record) => this.store.enqueue(record, record.short ? [] : this.channels, this.o.dedupeWindowMs, this.now()),
      onWritten: (_record, r) => {
        if (r.notificationId) this.notify();
      },
      onStateChange: o.onWriteStateChange,
    });
  }

  /** Abandons held in memory because outbox.sqlite could not be written. */
  readonly writes: WriteBuffer<AbandonRecord, EnqueueResult>;

  get path(): string {
    return this.store.path;
  }

  /** Starts the delivery loops; rows left by an earlier run are picked up first. */
  start(): void {
    if (this.loops.length > 0 || this.closed) return;
    const counts = this.store.counts();
    for (const [channel, c] of Object.entries(counts)) {
      if (!this.channels.includes(channel) && c.pending > 0) {
        this.o.log.warn({ channel, pending: c.pending }, 'abandon notifications wait for a channel that is not configured');
      } else if (c.pending > 0) {
        this.o.log.info({ channel, pending: c.pending }, 'resuming abandon notifications');
      }
    }
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
    this.loops = this.o.notifiers.map((n) => this.run(n));
  }

  /** Records the abandon and queues its notification (or folds it into the caller's open one). */
  enqueue(record: AbandonRecord): EnqueueResult & { held?: 'buffered' | 'refused' } {
    const w = this.writes.submit(record);
    if (w.status !== 'written') return { added: w.status === 'buffered', count: 0, deduped: false, held: w.status };
    if (w.result.notificationId) this.notify();
    return w.result;
  }

  /** Notifications given up on (permanent receiver errors), oldest first, for the CLI. */
  failed(limit = 100): ReturnType<OutboxStore['failed']> {
    return this.store.failed(limit);
  }

  /** Wakes the loops now rather than at their next timer. */
  notify(): void {
    this.wakeup.wake();
  }

  recentAbandonFor(e164: string, sinceMs: number): RecentAbandon | undefined {
    return this.store.recentAbandonFor(e164, sinceMs);
  }

  /** Per channel: rows still to deliver, rows given up on (for metrics and health). */
  counts(): Record<string, { pending: number; failed: number }> {
    return this.store.counts();
  }

  requeueFailed(channel?: string): number {
    const n = this.store.requeueFailed(this.now(), channel);
    if (n > 0) this.notify();
    return n;
  }

  /** Stops the loops (an in-flight send is aborted and stays queued) and closes the file. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.writes.flush();
    this.writes.close();
    this.stopping.abort();
    this.notify();
    clearInterval(this.pruneTimer);
    await Promise.allSettled(this.loops);
    for (const n of this.o.notifiers) n.close?.();
    this.store.close();
  }

  private run(n: Notifier): Promise<void> {
    const log = (due: { notificationId: string; attempts: number }, extra: object = {}) => ({ channel: n.channel, notification: due.notificationId, attempt: due.attempts + 1, ...extra });
    return runDeliveryLoop<{ notificationId: string; attempts: number; notification: Notification }>(
      {
        take: (now) => {
          const due = this.store.nextDue(n.channel, now);
          if (!due) return { nextAt: this.store.nextDueAt(n.channel) };
          const notification = this.store.sealAndLoad(due.notificationId, now);
          if (!notification) {
            this.store.markFailed(due.notificationId, n.channel, now, 'notification row missing');
            return { nextAt: now };
          }
          return { row: { notificationId: due.notificationId, attempts: due.attempts, notification }, attempts: due.attempts };
        },
        attempt: async (due, signal, recovering) => {
          const receipt = await n.send(due.notification, signal);
          this.store.markDelivered(due.notificationId, n.channel, this.now());
          this.o.onDelivered?.(due.notificationId, n.channel, receipt ? receipt.ref : undefined);
          if (recovering) this.o.log.info({ channel: n.channel, notification: due.notificationId }, 'abandon notification receiver is back');
          this.o.log.debug(log(due), 'abandon notification delivered');
        },
        rejected: (due, e, at) => {
          this.store.markFailed(due.notificationId, n.channel, at, e.message);
          this.o.log.error(log(due, { err: e.message }), 'abandon notification rejected permanently; not retried');
        },
        retry: (due, e, at, delay) => {
          this.store.markRetry(due.notificationId, n.channel, at, e.message);
          this.o.log.warn(log(due, { retryInMs: delay, err: e.message }), 'abandon notification not delivered; will retry');
        },
        loopFailed: (err) => this.o.log.error({ err, channel: n.channel }, 'abandon outbox loop failed'),
      },
      { signal: this.stopping.signal, now: this.now, wait: (ms) => this.wakeup.wait(ms), idleMs: IDLE_RECHECK_MS, backoffBaseMs: this.o.backoffBaseMs, backoffCapMs: this.o.backoffCapMs, maxRetryAfterMs: this.o.maxRetryAfterMs },
    );
  }

  private prune(): void {
    try {
      const before = this.now() - (this.o.retainMs ?? 7 * 86_400_000);
      let total = 0;
      for (let n = this.store.prune(before); n > 0 && total < 100_000; n = this.store.prune(before)) total += n;
      if (total > 0) this.o.log.debug({ rows: total }, 'abandon outbox pruned');
    } catch (err) {
      this.o.log.warn({ err }, 'abandon outbox prune failed');
    }
  }
}
