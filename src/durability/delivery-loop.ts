// The one retry loop of the durable outboxes (abandon notifications, alert
// resolutions, monitoring deliveries): per receiver, take the next row that is due,
// try it once, and on failure either give up (permanent) or pause the receiver with
// exponential backoff (at least the receiver's Retry-After, up to a cap). What a row
// is, how it is stored and what is logged stay with each outbox; a store error keeps
// the loop alive and it tries again later.
import { backoffDelay } from '../backoff.js';
import { DeliveryError } from '../abandon/notifiers/types.js';

export interface DeliveryQueue<T> {
  /** The row due at `now` with its attempts so far; otherwise when the next one falls due (undefined: none queued). */
  take(now: number): { row: T; attempts: number } | { nextAt: number | undefined };
  /** One attempt that records the row delivered; `recovering` after failures on this receiver. Throws on failure. */
  attempt(row: T, signal: AbortSignal, recovering: boolean): Promise<void>;
  /** Told about every failed attempt first (monitoring tracks outages with it). */
  failedAttempt?(row: T, error: DeliveryError): Promise<void>;
  /** Refused for good: record and log it; the row is not retried. */
  rejected(row: T, error: DeliveryError, at: number): void;
  /** Retryable: record the next attempt at `at` (in `delayMs`) and log it. */
  retry(row: T, error: DeliveryError, at: number, delayMs: number): void;
  /** The loop itself failed (a store error: disk full, file removed). */
  loopFailed(err: unknown): void;
}

export interface DeliveryLoopOptions {
  signal: AbortSignal;
  now: () => number;
  /** Sleeps up to `ms`, or until woken or stopped (a Wakeup's wait). */
  wait: (ms: number) => Promise<void>;
  /** How long to sleep when nothing is queued. */
  idleMs: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** The most of a receiver's Retry-After that is honoured. */
  maxRetryAfterMs?: number;
}

/** Runs until `signal` aborts; a row being sent when it does stays queued. */
export async function runDeliveryLoop<T>(q: DeliveryQueue<T>, o: DeliveryLoopOptions): Promise<void> {
  const capMs = o.backoffCapMs ?? 60_000;
  let failures = 0; // consecutive retryable failures on this receiver
  let pausedUntil = 0;
  while (!o.signal.aborted) {
    try {
      const now = o.now();
      if (pausedUntil > now) {
        await o.wait(pausedUntil - now);
        continue;
      }
      const next = q.take(now);
      if (!('row' in next)) {
        await o.wait(next.nextAt === undefined ? o.idleMs : next.nextAt - now);
        continue;
      }
      try {
        await q.attempt(next.row, o.signal, failures > 0);
        failures = 0;
      } catch (err) {
        if (o.signal.aborted) return; // stopped mid-send: the row stays queued
        const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message ?? String(err), false);
        await q.failedAttempt?.(next.row, e);
        if (e.permanent) {
          q.rejected(next.row, e, o.now());
          continue;
        }
        failures++;
        const delay = Math.max(
          backoffDelay(Math.max(failures, next.attempts + 1) - 1, o.backoffBaseMs ?? 1000, capMs),
          Math.min(e.retryAfterMs ?? 0, o.maxRetryAfterMs ?? 600_000),
        );
        pausedUntil = o.now() + delay;
        q.retry(next.row, e, pausedUntil, delay);
      }
    } catch (err) {
      if (o.signal.aborted) return;
      q.loopFailed(err);
      await o.wait(capMs);
    }
  }
}

/** Sleeps that end early on wake() (new work queued) or when the signal aborts. */
export class Wakeup {
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly signal: AbortSignal,
    /** No sleep lasts longer than this: the loops re-check their store at least this often. */
    private readonly maxMs: number,
  ) {}

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, this.maxMs)));
      this.waiters.add(done);
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}
