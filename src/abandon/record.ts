// One abandon record per caller who hung up before an agent answered: what is
// logged, persisted (journal → `${ES_INDEX_PREFIX}-abandons-*`), and what every
// notification is written from. The id is deterministic (uniqueid + source), so
// an AMI resend or a replay never makes a second record.
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import type { AbandonEvent } from './sink.js';

export type AbandonSource = AbandonEvent['source'];

/** The persisted shape. Snake case and keyword-friendly, like the CDR document. */
export interface AbandonFields {
  id: string;
  /** When the caller hung up, UTC ISO-8601. */
  '@timestamp': string;
  source: AbandonSource;
  /** Nested so that LOG_REDACT_NUMBERS (paths abandon.caller.*) covers the log line. */
  caller: { raw: string; e164?: string };
  did?: string;
  queue?: string;
  /** Whole seconds the caller waited (rounded), the unit queue_log uses. */
  waited_seconds: number;
  position?: number;
  original_position?: number;
  /** The agent the router tried first (or rang while the caller hung up). */
  sticky_agent?: string;
  uniqueid: string;
  linkedid?: string;
  /** Learned after the fact (queue_log, after an AMI gap), not when it happened. */
  late?: true;
  /** Shorter than the DID's SHORT_ABANDON: recorded and indexed, but nobody is notified. */
  short?: boolean;
  /** When the caller was reached afterwards (UTC ISO): the abandon needs no recall. */
  resolved_at?: string;
  /** The agent who reached them. */
  resolved_by?: string;
  /** callback_in: they called back and talked to an agent; call_out: an agent called them and they answered. */
  resolved_how?: ResolvedHow;
}

export type ResolvedHow = 'callback_in' | 'call_out';

export interface Resolution {
  resolved_at: string;
  resolved_by?: string;
  resolved_how: ResolvedHow;
}

/** What the journal and Elasticsearch store: the record plus the journal's index columns. */
export interface AbandonDocument extends AbandonFields {
  customer_e164?: string;
  customer_raw: string;
  agent?: string;
}

export function abandonId(uniqueid: string, source: AbandonSource): string {
  return createHash('sha256').update(`${uniqueid}|${source}`).digest('hex').slice(0, 32);
}

export class AbandonRecord implements AbandonFields {
  readonly id: string;
  readonly '@timestamp': string;
  readonly source: AbandonSource;
  readonly caller: { raw: string; e164?: string };
  // `declare`: no own `undefined` property when absent (class fields would define one).
  declare readonly did?: string;
  declare readonly queue?: string;
  readonly waited_seconds: number;
  declare readonly position?: number;
  declare readonly original_position?: number;
  declare readonly sticky_agent?: string;
  readonly uniqueid: string;
  declare readonly linkedid?: string;
  declare readonly late?: true;
  declare readonly short?: boolean;
  declare readonly resolved_at?: string;
  declare readonly resolved_by?: string;
  declare readonly resolved_how?: ResolvedHow;

  constructor(f: AbandonFields) {
    const at = DateTime.fromISO(f['@timestamp'], { zone: 'utc' });
    if (!at.isValid) throw new Error(`abandon record ${f.uniqueid}: invalid @timestamp ${JSON.stringify(f['@timestamp'])}`);
    this.id = f.id;
    this['@timestamp'] = at.toISO() ?? f['@timestamp'];
    this.source = f.source;
    this.caller = f.caller.e164 ? { raw: f.caller.raw, e164: f.caller.e164 } : { raw: f.caller.raw };
    // Absent fields stay absent (not `undefined` keys) so the JSON is the same after a round trip.
    if (f.did) this.did = f.did;
    if (f.queue) this.queue = f.queue;
    this.waited_seconds = f.waited_seconds;
    if (f.position !== undefined) this.position = f.position;
    if (f.original_position !== undefined) this.original_position = f.original_position;
    if (f.sticky_agent) this.sticky_agent = f.sticky_agent;
    this.uniqueid = f.uniqueid;
    if (f.linkedid) this.linkedid = f.linkedid;
    if (f.late) this.late = true;
    if (f.short !== undefined) this.short = f.short;
    if (f.resolved_at) {
      this.resolved_at = f.resolved_at;
      if (f.resolved_by) this.resolved_by = f.resolved_by;
      if (f.resolved_how) this.resolved_how = f.resolved_how;
    }
  }

  /**
   * `shortAbandonMs`: the DID's SHORT_ABANDON. The exact wait decides, not the
   * rounded seconds: 4.6 s is short under PT5S even though it shows as 5 s.
   */
  static fromEvent(e: AbandonEvent, opts: { shortAbandonMs?: number } = {}): AbandonRecord {
    return new AbandonRecord({
      id: abandonId(e.uniqueid, e.source),
      '@timestamp': e.at,
      source: e.source,
      caller: e.caller,
      did: e.did,
      queue: e.queue,
      waited_seconds: Math.max(0, Math.round(e.waitedMs / 1000)),
      position: e.position,
      original_position: e.originalPosition,
      sticky_agent: e.agent,
      uniqueid: e.uniqueid,
      linkedid: e.linkedid,
      ...(e.late ? { late: true as const } : {}),
      short: e.waitedMs < (opts.shortAbandonMs ?? 0),
    });
  }

  /** The same abandon, reached: the journal and Elasticsearch keep its id. */
  withResolution(r: Resolution): AbandonRecord {
    return new AbandonRecord({ ...this, ...r });
  }

  /** Rebuilds a record from its JSON (the outbox stores records as JSON text). */
  static fromJSON(json: string): AbandonRecord {
    return new AbandonRecord(JSON.parse(json) as AbandonFields);
  }

  get at(): DateTime {
    return DateTime.fromISO(this['@timestamp'], { zone: 'utc' });
  }

  /**
   * Who this caller is for deduplication: E.164 when it parsed, else the raw
   * number when it has digits. Anonymous callers have no key: two withheld
   * numbers are not the same person.
   */
  get callerKey(): string | undefined {
    if (this.caller.e164) return this.caller.e164;
    return /\d/.test(this.caller.raw) ? `raw:${this.caller.raw}` : undefined;
  }

  /** The document for the journal (`journal.append(doc, 'abandon')`) and Elasticsearch. */
  toDocument(): AbandonDocument {
    return { ...this, customer_e164: this.caller.e164, customer_raw: this.caller.raw, agent: this.sticky_agent };
  }

  /** One line for a subject or a chat preview. */
  summary(): string {
    const where = [this.did && `line ${this.did}`, this.queue && `queue ${this.queue}`].filter(Boolean).join(', ');
    return `Missed call from ${callerLabel(this.caller)}${where ? ` on ${where}` : ''}, waited ${formatWait(this.waited_seconds)}`;
  }

  /** The facts a supervisor needs to call back, one per line. */
  details(opts: TextOptions = {}): string[] {
    const lines = [`Caller: ${callerDetail(this.caller)}`];
    if (this.did) lines.push(`Line (DID): ${this.did}`);
    if (this.queue) {
      const pos = this.position !== undefined ? ` (position ${this.position}${this.original_position !== undefined ? `, joined at ${this.original_position}` : ''})` : '';
      lines.push(`Queue: ${this.queue}${pos}`);
    }
    lines.push(
      this.source === 'sticky_ring'
        ? `Waited: ${formatWait(this.waited_seconds)}, hung up while their agent was ringing`
        : this.source === 'sticky_wait'
          ? `Waited: ${formatWait(this.waited_seconds)}, hung up while held for their agent, who was on another call`
          : `Waited: ${formatWait(this.waited_seconds)}${this.queue ? ' in the queue' : ''}, hung up before an agent answered`,
    );
    lines.push(`When: ${formatWhen(this.at, opts.zone)}`);
    lines.push(`Sticky agent: ${this.sticky_agent ? `${this.sticky_agent} (the agent they last spoke to)` : 'none (no recent conversation)'}`);
    lines.push(`Call id: ${this.uniqueid}`);
    if (this.late) lines.push('Reported late: the router was not connected to Asterisk when it happened (read back from queue_log)');
    return lines;
  }

  /** The message a supervisor can act on: who, which line or queue, how long, when, which agent. */
  toText(opts: TextOptions = {}): string {
    return [this.summary(), '', ...this.details(opts)].join('\n');
  }
}

export interface TextOptions {
  /** IANA zone for the human-readable time next to UTC (e.g. Europe/Kyiv); UTC when unset. */
  zone?: string;
}

export function callerLabel(c: { raw: string; e164?: string }): string {
  if (c.e164) return c.e164;
  return c.raw === '' ? 'an unknown number (no caller ID)' : /\d/.test(c.raw) ? c.raw : `${c.raw} (withheld number)`;
}

function callerDetail(c: { raw: string; e164?: string }): string {
  if (c.e164 && c.raw !== c.e164) return `${c.e164} (as received: ${c.raw})`;
  return callerLabel(c);
}

export function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return s === 0 ? `${m} min` : `${m} min ${s} s`;
}

/** ISO UTC for machines and search, then a weekday-and-time reading for people. */
export function formatWhen(at: DateTime, zone?: string): string {
  const utc = at.toUTC();
  const local = zone ? at.setZone(zone) : undefined;
  const human = local?.isValid ? local.toFormat("ccc d LLL yyyy, HH:mm:ss ZZZZ") : utc.toFormat("ccc d LLL yyyy, HH:mm:ss 'UTC'");
  return `${utc.toISO({ suppressMilliseconds: true })} (${human})`;
}
