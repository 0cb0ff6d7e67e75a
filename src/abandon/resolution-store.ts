// Follow-up of abandons, in the outbox's SQLite file next to the outbox's own
// tables (its own connection; the outbox's tables are read, and only one column of
// `notifications` is written, see resolve()):
//   delivery_refs          what a receiver said about a delivered message (Slack
//                          channel + ts, Telegram message_id), so that it can be
//                          edited after a restart too
//   abandon_resolutions    each abandon that was followed up: when, by whom, how
//   group_resolutions      each notification group (one alert) that was closed
//   resolution_deliveries  one row per (group, channel) still to tell, retried
//                          like the outbox's deliveries
import { join } from 'node:path';
import { Database } from '../storage/sqlite.js';
import type { Notification } from './notification.js';
import { AbandonRecord, type Resolution, type ResolvedHow } from './record.js';
import { resolutionId, type ResolutionNotice } from './resolution-notice.js';

const schema = `
CREATE TABLE IF NOT EXISTS delivery_refs (
  notification_id TEXT NOT NULL,
  channel         TEXT NOT NULL,
  ref             TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (notification_id, channel)
);
CREATE TABLE IF NOT EXISTS abandon_resolutions (
  abandon_id   TEXT PRIMARY KEY,
  resolved_at  INTEGER NOT NULL,
  resolved_by  TEXT,
  resolved_how TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS group_resolutions (
  group_id     TEXT PRIMARY KEY,
  resolved_at  INTEGER NOT NULL,
  resolved_by  TEXT,
  resolved_how TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS resolution_deliveries (
  group_id        TEXT NOT NULL,
  channel         TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at    INTEGER,
  failed_at       INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (group_id, channel)
);
-- Every talked conversation asks "any open abandons by this caller?": by key, not a scan.
CREATE INDEX IF NOT EXISTS abandons_caller_key_ts ON abandons (caller_key, ts) WHERE caller_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS resolution_deliveries_due ON resolution_deliveries (channel, next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
`;

/**
 * A resolution waits while the group still has a message on its way on that channel
 * (it needs the message's ref, and must not be overtaken by it).
 */
const notBlocked = `NOT EXISTS (
  SELECT 1 FROM notifications n JOIN deliveries d ON d.notification_id = n.id
  WHERE n.group_id = rd.group_id AND d.channel = rd.channel AND d.delivered_at IS NULL AND d.failed_at IS NULL)`;

export interface Reached {
  /** The abandons' caller_key (E.164, or raw:<digits>). */
  callerKey: string;
  /** Abandons at or before this (ms epoch) are followed up: the conversation's start. */
  before: number;
  resolution: Resolution;
}

export interface ResolveResult {
  /** The abandons now resolved, as resolved records (for the journal). */
  records: AbandonRecord[];
  /** Notification groups closed: each gets a resolution on every channel. */
  groups: string[];
}

interface GroupRow {
  resolved_at: number;
  resolved_by: string | null;
  resolved_how: string;
}

interface NotificationRow {
  id: string;
  group_id: string;
  seq: number;
  count: number;
  first_doc: string;
  latest_doc: string;
}

export class ResolutionStore {
  private readonly db: Database;
  private readonly s: ReturnType<typeof prepare>;

  /** Opens `${dataDir}/outbox.sqlite`, whose outbox tables must exist (the Outbox creates them). */
  constructor(dataDir: string) {
    this.db = new Database(join(dataDir, 'outbox.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 1000');
    this.db.exec(schema);
    this.s = prepare(this.db);
  }

  saveRef(notificationId: string, channel: string, ref: string, now: number): void {
    this.s.saveRef.run(notificationId, channel, ref, now);
  }

  /** Marks the caller's open abandons resolved and queues one resolution per channel for each alert about them. */
  resolve(r: Reached, channels: readonly string[], now: number): ResolveResult {
    return this.db.transaction((): ResolveResult => {
      const at = Date.parse(r.resolution.resolved_at);
      const records: AbandonRecord[] = [];
      for (const row of this.s.openAbandons.all(r.callerKey, r.before)) {
        this.s.resolveAbandon.run(row.id, at, r.resolution.resolved_by ?? null, r.resolution.resolved_how);
        const rec = AbandonRecord.fromJSON(row.doc).withResolution(r.resolution);
        this.s.updateAbandonDoc.run(JSON.stringify(rec), row.id);
        records.push(rec);
      }
      const groups: string[] = [];
      for (const g of this.s.openGroups.all(r.callerKey, r.before)) {
        this.s.resolveGroup.run(g.group_id, at, r.resolution.resolved_by ?? null, r.resolution.resolved_how, now);
        // The alert is closed: a later abandon by this caller starts a new one.
        this.s.closeGroup.run(at, g.group_id);
        for (const c of channels) this.s.insertDelivery.run(g.group_id, c, now, now);
        groups.push(g.group_id);
      }
      return { records, groups };
    })();
  }

  /** The channel's next resolution to deliver. */
  nextDue(channel: string, now: number): { groupId: string; attempts: number } | undefined {
    const r = this.s.nextDue.get(channel, now);
    return r && { groupId: r.group_id, attempts: r.attempts };
  }

  nextDueAt(channel: string): number | undefined {
    return this.s.nextDueAt.get(channel)?.at ?? undefined;
  }

  /** The resolution as this channel tells it: the group's delivered messages with their refs. */
  load(groupId: string, channel: string): ResolutionNotice | undefined {
    const g = this.s.group.get(groupId);
    const ns = this.s.groupNotifications.all(groupId);
    if (!g || ns.length === 0) return undefined;
    const toNotification = (n: NotificationRow): Notification => ({
      id: n.id,
      groupId: n.group_id,
      seq: n.seq,
      count: n.count,
      first: AbandonRecord.fromJSON(n.first_doc),
      latest: AbandonRecord.fromJSON(n.latest_doc),
    });
    const last = ns[ns.length - 1]!;
    const messages = this.s.delivered
      .all({ group: groupId, channel })
      .map((m) => ({ notification: toNotification(m), ...(m.ref ? { ref: m.ref } : {}) }));
    const resolution: Resolution = { resolved_at: new Date(g.resolved_at).toISOString(), resolved_how: g.resolved_how as ResolvedHow };
    if (g.resolved_by) resolution.resolved_by = g.resolved_by;
    return {
      id: resolutionId(groupId),
      groupId,
      resolution,
      count: last.count,
      first: AbandonRecord.fromJSON(ns[0]!.first_doc),
      latest: AbandonRecord.fromJSON(last.latest_doc),
      messages,
    };
  }

  markDelivered(groupId: string, channel: string, now: number): void {
    this.s.done.run(now, groupId, channel);
  }

  markRetry(groupId: string, channel: string, nextAt: number, error: string): void {
    this.s.retry.run(nextAt, error.slice(0, 1000), groupId, channel);
  }

  markFailed(groupId: string, channel: string, now: number, error: string): void {
    this.s.failed.run(now, error.slice(0, 1000), groupId, channel);
  }

  /** Drops follow-up rows older than `before` whose abandons/notifications the outbox has pruned. */
  prune(before: number): number {
    return this.db.transaction(() => {
      let n = this.s.pruneRefs.run(before).changes;
      n += this.s.pruneAbandons.run(before).changes;
      n += this.s.pruneDeliveries.run(before).changes;
      n += this.s.pruneGroups.run(before).changes;
      return n;
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

// `notifications.group_id` and `group_start` are the outbox's; the group of an abandon
// is found by the caller's key and its start, as the outbox groups them.
function prepare(db: Database) {
  return {
    saveRef: db.prepare<[string, string, string, number]>('INSERT OR REPLACE INTO delivery_refs (notification_id, channel, ref, created_at) VALUES (?, ?, ?, ?)'),
    openAbandons: db.prepare<[string, number], { id: string; doc: string }>(
      `SELECT a.id, a.doc FROM abandons a WHERE a.caller_key = ? AND a.ts <= ?
       AND NOT EXISTS (SELECT 1 FROM abandon_resolutions r WHERE r.abandon_id = a.id) ORDER BY a.ts`,
    ),
    resolveAbandon: db.prepare<[string, number, string | null, string]>(
      'INSERT OR IGNORE INTO abandon_resolutions (abandon_id, resolved_at, resolved_by, resolved_how) VALUES (?, ?, ?, ?)',
    ),
    updateAbandonDoc: db.prepare<[string, string]>('UPDATE abandons SET doc = ? WHERE id = ?'),
    openGroups: db.prepare<[string, number], { group_id: string }>(
      `SELECT DISTINCT n.group_id FROM notifications n WHERE n.caller_key = ? AND n.group_start <= ?
       AND NOT EXISTS (SELECT 1 FROM group_resolutions g WHERE g.group_id = n.group_id)`,
    ),
    resolveGroup: db.prepare<[string, number, string | null, string, number]>(
      'INSERT OR IGNORE INTO group_resolutions (group_id, resolved_at, resolved_by, resolved_how, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    closeGroup: db.prepare<[number, string]>('UPDATE notifications SET group_end = min(group_end, ?) WHERE group_id = ?'),
    insertDelivery: db.prepare<[string, string, number, number]>(
      'INSERT OR IGNORE INTO resolution_deliveries (group_id, channel, next_attempt_at, created_at) VALUES (?, ?, ?, ?)',
    ),
    nextDue: db.prepare<[string, number], { group_id: string; attempts: number }>(
      `SELECT rd.group_id, rd.attempts FROM resolution_deliveries rd
       WHERE rd.channel = ? AND rd.delivered_at IS NULL AND rd.failed_at IS NULL AND rd.next_attempt_at <= ? AND ${notBlocked}
       ORDER BY rd.next_attempt_at, rd.rowid LIMIT 1`,
    ),
    nextDueAt: db.prepare<[string], { at: number | null }>(
      `SELECT min(rd.next_attempt_at) AS at FROM resolution_deliveries rd
       WHERE rd.channel = ? AND rd.delivered_at IS NULL AND rd.failed_at IS NULL AND ${notBlocked}`,
    ),
    group: db.prepare<[string], GroupRow>('SELECT resolved_at, resolved_by, resolved_how FROM group_resolutions WHERE group_id = ?'),
    groupNotifications: db.prepare<[string], NotificationRow>('SELECT id, group_id, seq, count, first_doc, latest_doc FROM notifications WHERE group_id = ? ORDER BY seq'),
    delivered: db.prepare<[{ group: string; channel: string }], NotificationRow & { ref: string | null }>(
      `SELECT n.id, n.group_id, n.seq, n.count, n.first_doc, n.latest_doc, r.ref FROM notifications n
       JOIN deliveries d ON d.notification_id = n.id AND d.channel = @channel AND d.delivered_at IS NOT NULL
       LEFT JOIN delivery_refs r ON r.notification_id = n.id AND r.channel = @channel
       WHERE n.group_id = @group ORDER BY n.seq`,
    ),
    done: db.prepare<[number, string, string]>('UPDATE resolution_deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE group_id = ? AND channel = ?'),
    retry: db.prepare<[number, string, string, string]>('UPDATE resolution_deliveries SET next_attempt_at = ?, attempts = attempts + 1, last_error = ? WHERE group_id = ? AND channel = ?'),
    failed: db.prepare<[number, string, string, string]>('UPDATE resolution_deliveries SET failed_at = ?, attempts = attempts + 1, last_error = ? WHERE group_id = ? AND channel = ?'),
    pruneRefs: db.prepare<[number]>('DELETE FROM delivery_refs WHERE created_at < ? AND notification_id NOT IN (SELECT id FROM notifications)'),
    pruneAbandons: db.prepare<[number]>('DELETE FROM abandon_resolutions WHERE resolved_at < ? AND abandon_id NOT IN (SELECT id FROM abandons)'),
    pruneDeliveries: db.prepare<[number]>('DELETE FROM resolution_deliveries WHERE coalesce(delivered_at, failed_at) < ?'),
    pruneGroups: db.prepare<[number]>(
      'DELETE FROM group_resolutions WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM resolution_deliveries rd WHERE rd.group_id = group_resolutions.group_id)',
    ),
  };
}

