// The recall list: abandoned callers nobody has reached yet, oldest first, one
// entry per caller, for `GET /v1/recalls` and `sticky-router recalls`. Read from the
// outbox file (every abandon, and follow-up.ts's resolutions); safe beside a running
// router (its own read-only connection). Short abandons (mis-dials, by SHORT_ABANDON)
// and callers without a number (withheld) are left out; the latter are counted.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../storage/sqlite.js';
import { AbandonRecord } from './record.js';

export interface RecallEntry {
  caller: { raw: string; e164?: string };
  /** The first abandon not followed up (UTC ISO): waiting for a call back since then. */
  since: string;
  /** The latest abandon. */
  last_at: string;
  /** Abandoned calls since `since`. */
  attempts: number;
  /** Seconds waited: over all attempts, and the longest one. */
  waited_seconds_total: number;
  waited_seconds_longest: number;
  /** Who should call back: the sticky agent of their latest abandon, else their last agent in the history. */
  agent?: string;
  agent_source?: 'abandon' | 'history';
  did?: string;
  queue?: string;
  abandon_ids: string[];
}

export interface RecallList {
  generated_at: string;
  /** Abandons older than this are not listed (UTC ISO). */
  from: string;
  recalls: RecallEntry[];
  /** Abandons without a usable number in the period: nobody can call them back. */
  withheld: number;
}

export interface RecallOptions {
  /** ms epoch. */
  now: number;
  /** How far back (ms). */
  withinMs: number;
  /** The agent the caller last talked to (the journal), for callers without a sticky agent on record. */
  lastAgent?: (e164: string, at: number) => string | undefined;
}

/** Reads the list from `${dataDir}/outbox.sqlite`; an absent file is an empty list. */
export function readRecalls(dataDir: string, o: RecallOptions): RecallList {
  const path = join(dataDir, 'outbox.sqlite');
  const empty: RecallList = { generated_at: new Date(o.now).toISOString(), from: new Date(o.now - o.withinMs).toISOString(), recalls: [], withheld: 0 };
  if (!existsSync(path)) return empty;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 1000');
    return recallsFrom(db, o);
  } finally {
    db.close();
  }
}

export function recallsFrom(db: Database, o: RecallOptions): RecallList {
  const from = o.now - o.withinMs;
  const hasTable = (name: string) => db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(name)!.n > 0;
  const list: RecallList = { generated_at: new Date(o.now).toISOString(), from: new Date(from).toISOString(), recalls: [], withheld: 0 };
  if (!hasTable('abandons')) return list;
  const resolved = hasTable('abandon_resolutions') ? 'AND NOT EXISTS (SELECT 1 FROM abandon_resolutions r WHERE r.abandon_id = a.id)' : '';
  const rows = db.prepare<[number], { caller_key: string | null; doc: string }>(`SELECT a.caller_key, a.doc FROM abandons a WHERE a.ts >= ? ${resolved} ORDER BY a.ts, a.id`).all(from);
  const byCaller = new Map<string, RecallEntry & { agentAt: number }>();
  for (const row of rows) {
    const rec = AbandonRecord.fromJSON(row.doc);
    if (rec.short || rec.resolved_at) continue;
    if (row.caller_key === null) {
      list.withheld++;
      continue;
    }
    let e = byCaller.get(row.caller_key);
    if (!e) {
      e = { caller: rec.caller, since: rec['@timestamp'], last_at: rec['@timestamp'], attempts: 0, waited_seconds_total: 0, waited_seconds_longest: 0, abandon_ids: [], agentAt: 0 };
      byCaller.set(row.caller_key, e);
    }
    e.attempts++;
    e.last_at = rec['@timestamp'];
    e.caller = rec.caller;
    e.waited_seconds_total += rec.waited_seconds;
    e.waited_seconds_longest = Math.max(e.waited_seconds_longest, rec.waited_seconds);
    e.abandon_ids.push(rec.id);
    if (rec.sticky_agent) {
      e.agent = rec.sticky_agent;
      e.agent_source = 'abandon';
    }
    if (rec.did) e.did = rec.did;
    if (rec.queue) e.queue = rec.queue;
    e.agentAt = rec.at.toMillis();
  }
  for (const { agentAt, ...e } of byCaller.values()) {
    if (!e.agent && e.caller.e164 && o.lastAgent) {
      const agent = o.lastAgent(e.caller.e164, agentAt);
      if (agent) {
        e.agent = agent;
        e.agent_source = 'history';
      }
    }
    list.recalls.push(e);
  }
  // Map order is first-seen order, and rows come oldest first: already oldest `since` first.
  return list;
}
