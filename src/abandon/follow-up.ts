// Closes abandon alerts once the caller is reached. A conversation's CDR
// (reached.ts) marks the caller's open abandons resolved in the outbox file, the
// resolved records go back to the journal (and so to Elasticsearch, same _id), and
// every channel is told, durably and with retries, by one loop per channel:
// Slack chat.update / a follow-up post, Telegram editMessageText, the webhook's
// `abandon.resolved` event, e-mail only with NOTIFY_EMAIL_RESOLVED.
// Retry policy as in outbox.ts: retryable failures back off (1 s … 60 s, or
// Retry-After), permanent ones are kept with their error.
import { runDeliveryLoop, Wakeup } from '../durability/delivery-loop.js';
import type { CdrDocument } from '../cdr/schema.js';
import type { Logger } from '../log.js';
import type { Notifier } from './notifiers/types.js';
import { reachedFromCdr } from './reached.js';
import type { AbandonRecord } from './record.js';
import { ResolutionStore, type Reached } from './resolution-store.js';
import type { ResolutionNotice } from './resolution-notice.js';

export interface FollowUpOptions {
  /** The outbox's DATA_DIR: the tables live in its outbox.sqlite. */
  dataDir: string;
  notifiers: readonly Notifier[];
  /** Stores the resolved record (journal.replace → Elasticsearch). */
  persist: (record: AbandonRecord) => void;
  log: Logger;
  now?: () => number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  retainMs?: number;
}

const IDLE_RECHECK_MS = 60_000;

export class FollowUps {
  private readonly store: ResolutionStore;
  private readonly now: () => number;
  private readonly channels: string[];
  private readonly stopping = new AbortController();
  private readonly wakeup = new Wakeup(this.stopping.signal, IDLE_RECHECK_MS);
  private loops: Promise<void>[] = [];
  private pruneTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: FollowUpOptions) {
    this.store = new ResolutionStore(o.dataDir);
    this.now = o.now ?? Date.now;
    // Channels that cannot be told (no resolve()) get no rows.
    this.channels = o.notifiers.filter((n) => n.resolve).map((n) => n.channel);
  }

  start(): void {
    if (this.loops.length > 0 || this.closed) return;
    this.loops = this.o.notifiers.filter((n) => n.resolve).map((n) => this.run(n));
    this.pruneTimer = setInterval(() => {
      try {
        this.store.prune(this.now() - (this.o.retainMs ?? 7 * 86_400_000));
      } catch (err) {
        this.o.log.warn({ err }, 'abandon follow-up prune failed');
      }
    }, 3_600_000);
    this.pruneTimer.unref();
  }

  /** The outbox delivered a message: keep the receiver's reference, and let waiting resolutions go. */
  delivered(notificationId: string, channel: string, ref: string | undefined): void {
    try {
      if (ref) this.store.saveRef(notificationId, channel, ref, this.now());
    } catch (err) {
      this.o.log.error({ err, notification: notificationId, channel }, 'message reference not stored; the alert cannot be edited when resolved');
    }
    this.wake();
  }

  /** A conversation ended: if it reached an abandoned caller, resolve. Never throws. */
  onCdr(doc: CdrDocument): void {
    const reached = reachedFromCdr(doc);
    if (reached) this.reached(reached);
  }

  /** Resolves the caller's open abandons; returns the resolved records. */
  reached(r: Reached): AbandonRecord[] {
    let result;
    try {
      result = this.store.resolve(r, this.channels, this.now());
    } catch (err) {
      this.o.log.error({ err }, 'abandon follow-up not recorded');
      return [];
    }
    for (const rec of result.records) {
      try {
        this.o.persist(rec);
      } catch (err) {
        this.o.log.error({ err, abandon: { id: rec.id } }, 'resolved abandon record not persisted');
      }
      this.o.log.info({ event: 'abandon.resolved', abandon: rec }, `abandoned caller reached (${rec.resolved_how})`);
    }
    if (result.groups.length > 0) this.wake();
    return result.records;
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopping.abort();
    this.wake();
    clearInterval(this.pruneTimer);
    await Promise.allSettled(this.loops);
    this.store.close();
  }

  private wake(): void {
    this.wakeup.wake();
  }

  private run(n: Notifier): Promise<void> {
    type Due = { groupId: string; notice: ResolutionNotice };
    return runDeliveryLoop<Due>(
      {
        take: (now) => {
          const due = this.store.nextDue(n.channel, now);
          if (!due) return { nextAt: this.store.nextDueAt(n.channel) };
          const notice = this.store.load(due.groupId, n.channel);
          if (!notice) {
            this.store.markFailed(due.groupId, n.channel, now, 'alert no longer in the outbox');
            return { nextAt: now };
          }
          return { row: { groupId: due.groupId, notice }, attempts: due.attempts };
        },
        attempt: async ({ groupId, notice }, signal) => {
          await n.resolve!(notice, signal);
          this.store.markDelivered(groupId, n.channel, this.now());
          this.o.log.info({ channel: n.channel, resolution: notice.id, messages: notice.messages.length }, 'abandon alert resolved');
        },
        rejected: ({ groupId, notice }, e, at) => {
          this.store.markFailed(groupId, n.channel, at, e.message);
          this.o.log.error({ channel: n.channel, resolution: notice.id, err: e.message }, 'abandon resolution rejected permanently; not retried');
        },
        retry: ({ groupId, notice }, e, at, delay) => {
          this.store.markRetry(groupId, n.channel, at, e.message);
          this.o.log.warn({ channel: n.channel, resolution: notice.id, retryInMs: delay, err: e.message }, 'abandon resolution not delivered; will retry');
        },
        loopFailed: (err) => this.o.log.error({ err, channel: n.channel }, 'abandon follow-up loop failed'),
      },
      { signal: this.stopping.signal, now: this.now, wait: (ms) => this.wakeup.wait(ms), idleMs: IDLE_RECHECK_MS, backoffBaseMs: this.o.backoffBaseMs, backoffCapMs: this.o.backoffCapMs },
    );
  }
}
