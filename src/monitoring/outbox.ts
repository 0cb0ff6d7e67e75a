// The monitoring deliveries' durable outbox: its own tables in the same SQLite file
// as the abandon outbox (`${dataDir}/outbox.sqlite`), the same delivery rules
// (at least once, one worker per target so a dead receiver delays only itself,
// exponential backoff with jitter, Retry-After honoured, permanent failures kept
// with their error), and the same idempotency: a row's id is its idempotency key,
// the body is frozen when it is queued, and a restart resends what was not
// acknowledged. Only the signature is made per attempt (it carries the time).
//
// Outages: a target's first failed attempt opens an outage (persisted, so a
// restart does not reset the clock); when it has lasted `alertAfterMs`
// (MONITOR_ALERT_AFTER) `onOutage` is called once (the e-mail to the contacts);
// the next delivery closes it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../storage/sqlite.js';
import type { Logger } from '../log.js';
import { runDeliveryLoop, Wakeup } from '../durability/delivery-loop.js';

const schema = `
CREATE TABLE IF NOT EXISTS monitor_outbox (
  id              TEXT NOT NULL,      -- the idempotency key
  target          TEXT NOT NULL,
  kind            TEXT NOT NULL,
  body            TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at    INTEGER,
  failed_at       INTEGER,
  last_error      TEXT,
  PRIMARY KEY (id, target)
);
CREATE INDEX IF NOT EXISTS monitor_outbox_due ON monitor_outbox (target, next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE TABLE IF NOT EXISTS monitor_outages (
  target     TEXT PRIMARY KEY,
  since      INTEGER NOT NULL,
  last_error TEXT,
  alerted_at INTEGER
);
`;

export interface DeliveryRow {
  id: string;
  target: string;
  kind: string;
  body: string;
  attempts: number;
}

/** Where deliveries go: a monitoring subscription or an alert channel. */
export interface DeliveryTarget {
  readonly id: string;
  /** One attempt; resolves when accepted, throws a DeliveryError otherwise. */
  send(row: DeliveryRow, signal: AbortSignal): Promise<void>;
  close?(): void;
}

export interface Outage {
  target: string;
  since: number;
  lastError: string;
}

export interface MonitorOutboxOptions {
  dataDir: string;
  targets: readonly DeliveryTarget[];
  log: Logger;
  alertAfterMs: number;
  /** Called once per outage; a throw is retried at the next failure. */
  onOutage?: (o: Outage) => Promise<void>;
  now?: () => number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  retainMs?: number;
}

const IDLE_MS = 60_000;

export class MonitorOutbox {
  private readonly db: Database;
  private readonly now: () => number;
  private readonly stopping = new AbortController();
  private readonly wakeup = new Wakeup(this.stopping.signal, IDLE_MS);
  private loops: Promise<void>[] = [];
  private closed = false;
  private readonly st;

  constructor(private readonly o: MonitorOutboxOptions) {
    mkdirSync(o.dataDir, { recursive: true });
    this.db = new Database(join(o.dataDir, 'outbox.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 1000');
    this.db.exec(schema);
    this.now = o.now ?? Date.now;
    this.st = {
      insert: this.db.prepare('INSERT OR IGNORE INTO monitor_outbox (id, target, kind, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)'),
      due: this.db.prepare<[string, number], DeliveryRow>(
        'SELECT id, target, kind, body, attempts FROM monitor_outbox WHERE target = ? AND delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT 1',
      ),
      nextAt: this.db.prepare<[string], { t: number | null }>('SELECT MIN(next_attempt_at) AS t FROM monitor_outbox WHERE target = ? AND delivered_at IS NULL AND failed_at IS NULL'),
      delivered: this.db.prepare('UPDATE monitor_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ? AND target = ?'),
      retry: this.db.prepare('UPDATE monitor_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ? AND target = ?'),
      failed: this.db.prepare('UPDATE monitor_outbox SET attempts = attempts + 1, failed_at = ?, last_error = ? WHERE id = ? AND target = ?'),
      outage: this.db.prepare<[string], { since: number; alerted_at: number | null; last_error: string | null }>('SELECT since, alerted_at, last_error FROM monitor_outages WHERE target = ?'),
      openOutage: this.db.prepare('INSERT INTO monitor_outages (target, since, last_error) VALUES (?, ?, ?) ON CONFLICT (target) DO UPDATE SET last_error = excluded.last_error'),
      alerted: this.db.prepare('UPDATE monitor_outages SET alerted_at = ? WHERE target = ?'),
      closeOutage: this.db.prepare('DELETE FROM monitor_outages WHERE target = ?'),
      counts: this.db.prepare<[], { target: string; pending: number; failed: number; delivered: number }>(
        'SELECT target, SUM(delivered_at IS NULL AND failed_at IS NULL) AS pending, SUM(failed_at IS NOT NULL) AS failed, SUM(delivered_at IS NOT NULL) AS delivered FROM monitor_outbox GROUP BY target',
      ),
      prune: this.db.prepare('DELETE FROM monitor_outbox WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) AND created_at < ?'),
    };
  }

  start(): void {
    if (this.loops.length > 0 || this.closed) return;
    try {
      this.st.prune.run(this.now() - (this.o.retainMs ?? 7 * 86_400_000));
    } catch (err) {
      this.o.log.warn({ err }, 'monitoring outbox prune failed');
    }
    this.loops = this.o.targets.map((t) => this.run(t));
  }

  /** Queues `body` for `target` under idempotency key `id`; a second enqueue of the same id is a no-op. */
  enqueue(target: string, id: string, kind: string, body: string): boolean {
    if (this.closed) return false;
    const now = this.now();
    const added = this.st.insert.run(id, target, kind, body, now, now).changes > 0;
    if (added) this.wake();
    return added;
  }

  counts(): Record<string, { pending: number; failed: number; delivered: number }> {
    const out: Record<string, { pending: number; failed: number; delivered: number }> = {};
    for (const r of this.st.counts.all()) out[r.target] = { pending: r.pending, failed: r.failed, delivered: r.delivered };
    return out;
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopping.abort();
    this.wake();
    await Promise.allSettled(this.loops);
    for (const t of this.o.targets) t.close?.();
    this.db.close();
  }

  private wake(): void {
    this.wakeup.wake();
  }

  private run(t: DeliveryTarget): Promise<void> {
    type Row = NonNullable<ReturnType<typeof this.st.due.get>>;
    return runDeliveryLoop<Row>(
      {
        take: (now) => {
          const row = this.st.due.get(t.id, now);
          return row ? { row, attempts: row.attempts } : { nextAt: this.st.nextAt.get(t.id)?.t ?? undefined };
        },
        attempt: async (row, signal, recovering) => {
          await t.send(row, signal);
          this.st.delivered.run(this.now(), row.id, t.id);
          if (recovering || this.st.outage.get(t.id)) this.o.log.info({ target: t.id }, 'monitoring receiver is back');
          this.st.closeOutage.run(t.id);
        },
        failedAttempt: (_row, e) => this.noteFailure(t.id, e.message),
        rejected: (row, e, at) => {
          this.st.failed.run(at, e.message, row.id, t.id);
          this.o.log.error({ target: t.id, delivery: row.id, err: e.message }, 'monitoring delivery rejected permanently; not retried');
        },
        retry: (row, e, at, delay) => {
          this.st.retry.run(at, e.message, row.id, t.id);
          this.o.log.warn({ target: t.id, delivery: row.id, attempt: row.attempts + 1, retryInMs: delay, err: e.message }, 'monitoring delivery failed; will retry');
        },
        loopFailed: (err) => this.o.log.error({ err, target: t.id }, 'monitoring outbox loop failed'),
      },
      { signal: this.stopping.signal, now: this.now, wait: (ms) => this.wakeup.wait(ms), idleMs: IDLE_MS, backoffBaseMs: this.o.backoffBaseMs, backoffCapMs: this.o.backoffCapMs },
    );
  }

  /** Opens or extends the target's outage; alerts once when it has lasted alertAfterMs. */
  private async noteFailure(target: string, error: string): Promise<void> {
    const now = this.now();
    this.st.openOutage.run(target, now, error);
    const o = this.st.outage.get(target);
    if (!o || o.alerted_at !== null || now - o.since < this.o.alertAfterMs || !this.o.onOutage) return;
    try {
      await this.o.onOutage({ target, since: o.since, lastError: error });
      this.st.alerted.run(this.now(), target);
      this.o.log.warn({ target, since: new Date(o.since).toISOString() }, 'monitoring receiver down: contacts alerted');
    } catch (err) {
      this.o.log.error({ target, err: (err as Error).message }, 'could not alert the contacts of a failing monitoring receiver; will try again');
    }
  }
}
