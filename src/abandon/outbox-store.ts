// The outbox's SQLite file (`${dataDir}/outbox.sqlite`): every abandon seen, the
// notifications made from them, and one delivery row per (notification, channel).
// Everything the worker needs to resume after a restart is in here.
//
// Deduplication ("a supervisor should not get 10 pings for one frantic caller,
// but must learn the count"): abandons by the same caller are grouped; a group
// lasts NOTIFY_DEDUPE_WINDOW from its first abandon.
//   - The first abandon makes notification seq 1, due at once.
//   - A later abandon in the group updates the group's open notification (count,
//     latest call) if no attempt to send it has started yet; otherwise it makes
//     the follow-up, seq 2 ("3 missed calls from … since …"), due when the window
//     ends, and later abandons update that follow-up while it waits.
//   So one caller costs at most two messages per window per channel, the first one
//   without delay, and the supervisor learns the full count at the window's end.
//   A notification's content is frozen once an attempt starts ("sealed"): a retry
//   then resends exactly what the receiver may already have seen under that
//   Idempotency-Key, and a receiver that deduplicates by key loses nothing.
// Callers without a usable number (anonymous, withheld) are never grouped.
//
// SQLite (src/storage/sqlite.ts) is synchronous: statements are prepared once and every write is
// one short statement or transaction.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../storage/sqlite.js';
import { notificationId, type Notification } from './notification.js';
import { AbandonRecord, type AbandonSource } from './record.js';

const schema = `
CREATE TABLE IF NOT EXISTS abandons (
  id         TEXT PRIMARY KEY,
  caller_key TEXT,
  e164       TEXT,
  ts         INTEGER NOT NULL,
  doc        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS abandons_e164_ts ON abandons (e164, ts) WHERE e164 IS NOT NULL;
CREATE INDEX IF NOT EXISTS abandons_ts ON abandons (ts);

CREATE TABLE IF NOT EXISTS notifications (
  id          TEXT PRIMARY KEY,  -- the idempotency key
  group_id    TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  caller_key  TEXT,              -- NULL: never grouped
  group_start INTEGER NOT NULL,
  group_end   INTEGER NOT NULL,
  count       INTEGER NOT NULL,
  first_doc   TEXT NOT NULL,
  latest_doc  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  sealed_at   INTEGER            -- first attempt started: content frozen
);
CREATE INDEX IF NOT EXISTS notifications_caller ON notifications (caller_key, group_end) WHERE caller_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS notifications_group ON notifications (group_id, seq);

CREATE TABLE IF NOT EXISTS deliveries (
  notification_id TEXT NOT NULL,
  channel         TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at    INTEGER,
  failed_at       INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (notification_id, channel)
);
-- The worker's queue: only rows still to deliver.
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (channel, next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
`;

/** Same-channel predecessor in the group still pending: the follow-up waits for it, so messages arrive in order. */
const notBlocked = `NOT EXISTS (
  SELECT 1 FROM notifications p JOIN deliveries pd ON pd.notification_id = p.id
  WHERE p.group_id = n.group_id AND p.seq < n.seq AND pd.channel = d.channel
    AND pd.delivered_at IS NULL AND pd.failed_at IS NULL)`;

export interface EnqueueResult {
  /** False when the record was already here (a replayed event): nothing was queued. */
  added: boolean;
  /** The notification this abandon went into (absent without channels). */
  notificationId?: string;
  /** Abandons by this caller in the current group, this one included. */
  count: number;
  /** True when folded into an earlier abandon's group rather than starting one. */
  deduped: boolean;
}

export interface DueDelivery {
  notificationId: string;
  channel: string;
  attempts: number;
}

export interface RecentAbandon {
  /** When the latest abandon happened (UTC ISO). */
  at: string;
  /** The agent the caller was sticky to then. */
  agent?: string;
  /** Abandons by this caller since `since`. */
  count: number;
  source: AbandonSource;
  did?: string;
  queue?: string;
}

export interface FailedDelivery {
  notification_id: string;
  channel: string;
  attempts: number;
  failed_at: number;
  last_error: string | null;
  summary: string;
}

interface NotificationRow {
  id: string;
  group_id: string;
  seq: number;
  group_start: number;
  group_end: number;
  count: number;
  first_doc: string;
  latest_doc: string;
}

export class OutboxStore {
  readonly path: string;
  private readonly db: Database;
  private readonly s: ReturnType<typeof prepare>;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'outbox.sqlite');
    this.db = new Database(this.path);
    // WAL + NORMAL: a commit survives a crash of this process; a power cut may lose
    // the last commits, as for the journal. FULL would fsync on the event loop.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 1000');
    this.db.exec(schema);
    this.s = prepare(this.db);
  }

  /** Records an abandon and queues (or folds) its notification for every channel, in one transaction. */
  enqueue(record: AbandonRecord, channels: readonly string[], windowMs: number, now: number): EnqueueResult {
    return this.db.transaction((): EnqueueResult => {
      const ts = record.at.toMillis();
      const doc = JSON.stringify(record);
      const key = record.callerKey ?? null;
      if (this.s.insertAbandon.run(record.id, key, record.caller.e164 ?? null, ts, doc).changes === 0) return { added: false, count: 0, deduped: false };
      if (channels.length === 0) return { added: true, count: 1, deduped: false };

      // Out-of-order events (a little older than the group's first) still fold in.
      const first = key !== null && windowMs > 0 ? this.s.groupFor.get(key, ts, ts) : undefined;
      if (first) {
        const g = this.s.groupState.get(first.group_id);
        const count = (g?.count ?? first.count) + 1;
        const open = this.s.openInGroup.get(first.group_id);
        if (open) {
          this.s.updateOpen.run(count, doc, open.id);
          return { added: true, notificationId: open.id, count, deduped: true };
        }
        const seq = (g?.seq ?? first.seq) + 1;
        const id = notificationId(first.group_id, seq);
        this.s.insertNotification.run(id, first.group_id, seq, key, first.group_start, first.group_end, count, first.first_doc, doc, now);
        for (const c of channels) this.s.insertDelivery.run(id, c, id, first.group_end, now);
        return { added: true, notificationId: id, count, deduped: true };
      }

      const id = notificationId(record.id, 1);
      this.s.insertNotification.run(id, record.id, 1, key, ts, ts + windowMs, 1, doc, doc, now);
      for (const c of channels) this.s.insertDelivery.run(id, c, id, now, now);
      return { added: true, notificationId: id, count: 1, deduped: false };
    })();
  }

  /** The channel's next deliverable row, oldest due first. */
  nextDue(channel: string, now: number): DueDelivery | undefined {
    const r = this.s.nextDue.get(channel, now);
    return r && { notificationId: r.notification_id, channel, attempts: r.attempts };
  }

  /** When the channel next has something to deliver (ms epoch), if anything. */
  nextDueAt(channel: string): number | undefined {
    return this.s.nextDueAt.get(channel)?.at ?? undefined;
  }

  /** Freezes the notification's content (first attempt) and returns it as it will be sent. */
  sealAndLoad(id: string, now: number): Notification | undefined {
    this.s.seal.run(now, id);
    const r = this.s.notification.get(id);
    if (!r) return undefined;
    return { id: r.id, groupId: r.group_id, seq: r.seq, count: r.count, first: AbandonRecord.fromJSON(r.first_doc), latest: AbandonRecord.fromJSON(r.latest_doc) };
  }

  markDelivered(id: string, channel: string, now: number): void {
    this.s.delivered.run(now, id, channel);
  }

  markRetry(id: string, channel: string, nextAt: number, error: string): void {
    this.s.retry.run(nextAt, error.slice(0, 1000), id, channel);
  }

  markFailed(id: string, channel: string, now: number, error: string): void {
    this.s.failed.run(now, error.slice(0, 1000), id, channel);
  }

  /** Puts permanently failed rows back in the queue (after an operator fixed the receiver). */
  requeueFailed(now: number, channel?: string): number {
    return channel ? this.s.requeueChannel.run(now, channel).changes : this.s.requeueAll.run(now).changes;
  }

  /** Deliveries given up on, oldest first: what `sticky-router notifications failed` lists. */
  failed(limit = 100): FailedDelivery[] {
    return this.s.failedRows.all(limit);
  }

  /** Rows per channel still to deliver and given up on. */
  counts(): Record<string, { pending: number; failed: number }> {
    const out: Record<string, { pending: number; failed: number }> = {};
    for (const r of this.s.counts.all()) out[r.channel] = { pending: r.pending, failed: r.failed };
    return out;
  }

  /** The caller's latest abandon at or after `since` (ms epoch), with how many there were. */
  recentAbandonFor(e164: string, since: number): RecentAbandon | undefined {
    const r = this.s.recent.get(since, e164, since);
    if (!r) return undefined;
    const rec = AbandonRecord.fromJSON(r.doc);
    const out: RecentAbandon = { at: rec['@timestamp'], count: r.n, source: rec.source };
    if (rec.sticky_agent) out.agent = rec.sticky_agent;
    if (rec.did) out.did = rec.did;
    if (rec.queue) out.queue = rec.queue;
    return out;
  }

  /** Deletes finished deliveries, their notifications and abandons older than `before`; bounded per call. */
  prune(before: number, maxRows = 5000): number {
    return this.db.transaction(() => {
      let n = this.s.pruneDeliveries.run(before, maxRows).changes;
      n += this.s.pruneNotifications.run(before, maxRows).changes;
      n += this.s.pruneAbandons.run(before, maxRows).changes;
      return n;
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function prepare(db: Database) {
  return {
    insertAbandon: db.prepare<[string, string | null, string | null, number, string]>(
      'INSERT OR IGNORE INTO abandons (id, caller_key, e164, ts, doc) VALUES (?, ?, ?, ?, ?)',
    ),
    groupFor: db.prepare<[string, number, number], NotificationRow>(
      `SELECT * FROM notifications WHERE caller_key = ? AND seq = 1 AND group_end > ? AND group_start - (group_end - group_start) <= ?
       ORDER BY group_start DESC LIMIT 1`,
    ),
    groupState: db.prepare<[string], { seq: number; count: number }>('SELECT max(seq) AS seq, max(count) AS count FROM notifications WHERE group_id = ?'),
    openInGroup: db.prepare<[string], { id: string }>('SELECT id FROM notifications WHERE group_id = ? AND sealed_at IS NULL ORDER BY seq DESC LIMIT 1'),
    updateOpen: db.prepare<[number, string, string]>('UPDATE notifications SET count = ?, latest_doc = ? WHERE id = ? AND sealed_at IS NULL'),
    insertNotification: db.prepare<[string, string, number, string | null, number, number, number, string, string, number]>(
      `INSERT INTO notifications (id, group_id, seq, caller_key, group_start, group_end, count, first_doc, latest_doc, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertDelivery: db.prepare<[string, string, string, number, number]>(
      'INSERT OR IGNORE INTO deliveries (notification_id, channel, idempotency_key, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    nextDue: db.prepare<[string, number], { notification_id: string; attempts: number }>(
      `SELECT d.notification_id, d.attempts FROM deliveries d JOIN notifications n ON n.id = d.notification_id
       WHERE d.channel = ? AND d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= ? AND ${notBlocked}
       ORDER BY d.next_attempt_at, d.rowid LIMIT 1`,
    ),
    nextDueAt: db.prepare<[string], { at: number | null }>(
      `SELECT min(d.next_attempt_at) AS at FROM deliveries d JOIN notifications n ON n.id = d.notification_id
       WHERE d.channel = ? AND d.delivered_at IS NULL AND d.failed_at IS NULL AND ${notBlocked}`,
    ),
    seal: db.prepare<[number, string]>('UPDATE notifications SET sealed_at = ? WHERE id = ? AND sealed_at IS NULL'),
    notification: db.prepare<[string], NotificationRow>('SELECT * FROM notifications WHERE id = ?'),
    delivered: db.prepare<[number, string, string]>(
      'UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE notification_id = ? AND channel = ?',
    ),
    retry: db.prepare<[number, string, string, string]>(
      'UPDATE deliveries SET next_attempt_at = ?, attempts = attempts + 1, last_error = ? WHERE notification_id = ? AND channel = ?',
    ),
    failed: db.prepare<[number, string, string, string]>(
      'UPDATE deliveries SET failed_at = ?, attempts = attempts + 1, last_error = ? WHERE notification_id = ? AND channel = ?',
    ),
    failedRows: db.prepare<[number], FailedDelivery>(
      `SELECT d.notification_id, d.channel, d.attempts, d.failed_at, d.last_error,
              coalesce(json_extract(n.latest_doc, '$.caller.e164'), json_extract(n.latest_doc, '$.caller.raw'), '') || ' at ' || json_extract(n.latest_doc, '$."@timestamp"') AS summary
       FROM deliveries d JOIN notifications n ON n.id = d.notification_id
       WHERE d.failed_at IS NOT NULL ORDER BY d.failed_at LIMIT ?`,
    ),
    requeueAll: db.prepare<[number]>('UPDATE deliveries SET failed_at = NULL, next_attempt_at = ? WHERE failed_at IS NOT NULL'),
    requeueChannel: db.prepare<[number, string]>('UPDATE deliveries SET failed_at = NULL, next_attempt_at = ? WHERE failed_at IS NOT NULL AND channel = ?'),
    counts: db.prepare<[], { channel: string; pending: number; failed: number }>(
      `SELECT channel, sum(delivered_at IS NULL AND failed_at IS NULL) AS pending, sum(failed_at IS NOT NULL) AS failed
       FROM deliveries GROUP BY channel`,
    ),
    recent: db.prepare<[number, string, number], { doc: string; n: number }>(
      `SELECT doc, (SELECT count(*) FROM abandons b WHERE b.e164 = a.e164 AND b.ts >= ?) AS n
       FROM abandons a WHERE a.e164 = ? AND a.ts >= ? ORDER BY a.ts DESC LIMIT 1`,
    ),
    // Finished deliveries first; a notification goes once none of its rows is left.
    pruneDeliveries: db.prepare<[number, number]>(
      `DELETE FROM deliveries WHERE rowid IN (SELECT rowid FROM deliveries
       WHERE coalesce(delivered_at, failed_at) IS NOT NULL AND coalesce(delivered_at, failed_at) < ? LIMIT ?)`,
    ),
    pruneNotifications: db.prepare<[number, number]>(
      `DELETE FROM notifications WHERE rowid IN (SELECT rowid FROM notifications n
       WHERE n.group_end < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_id = n.id) LIMIT ?)`,
    ),
    pruneAbandons: db.prepare<[number, number]>('DELETE FROM abandons WHERE rowid IN (SELECT rowid FROM abandons WHERE ts < ? LIMIT ?)'),
  };
}
