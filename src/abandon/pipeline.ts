// Every abandon, from either source, goes through the same steps:
//   1. one pino line { event: 'abandon', abandon: <record> }
//   2. persist(record): the journal (no loss) and from there Elasticsearch
//   3. the outbox: notifications, deduplicated per caller, delivered with retries
//   4. router-phase only: the ABANDON line in queue_log (sticky-queue-log.ts writes
//      the sticky ring's other lines as they happen)
// Sources: the router's AbandonSink (caller hung up while the sticky agent rang)
// and AMI QueueCallerAbandon (caller hung up in a queue). A step that fails is
// logged and does not stop the others. The AMI handler only parses and tracks;
// the I/O runs after it returns, so the AMI socket is never held up.
import type { CountryCode } from 'libphonenumber-js';
import { DateTime } from 'luxon';
import type { AmiEvent } from '../ami/connection.js';
import type { Logger } from '../log.js';
import { CallVarTracker, callVarEvents } from './call-vars.js';
import type { AmiConsumer } from '../ami/filter.js';
import { abandonFromQueueEvent } from './from-queue.js';
import type { Outbox, RecentAbandon } from './outbox.js';
import type { QueueLogOptions } from './queue-log.js';
import { StickyQueueLog, stickyQueueLogEvents } from './sticky-queue-log.js';
import { AbandonRecord } from './record.js';
import type { AbandonEvent, AbandonSink } from './sink.js';
import { BoundedMap } from '../bounded-map.js';

/** The part of AmiConnection the pipeline uses. */
export interface AmiPort {
  on(event: 'event', l: (e: AmiEvent) => void): unknown;
  on(event: 'connected', l: () => void): unknown;
  removeListener(event: 'event', l: (e: AmiEvent) => void): unknown;
  removeListener(event: 'connected', l: () => void): unknown;
  action(fields: Record<string, unknown>): Promise<unknown>;
}

export interface AbandonPipelineOptions {
  sink: AbandonSink;
  ami: AmiPort;
  outbox: Outbox;
  /** Durable storage of the record (journal → `${ES_INDEX_PREFIX}-abandons-*`); may be async. */
  persist: (record: AbandonRecord) => void | Promise<void>;
  log: Logger;
  /** DEFAULT_COUNTRY, for callers without `+`. */
  region?: CountryCode;
  clock?: () => DateTime;
  /** false: the sticky ring is not written to queue_log (QUEUE_LOG_STICKY=false). */
  queueLog?: QueueLogOptions | false;
  /** Caller channels whose DID/agent are remembered at once. */
  maxTrackedCalls?: number;
  /** The DID's SHORT_ABANDON in ms (0 = no short abandons). */
  shortAbandonMs?: (did: string | undefined) => number;
}

/** What the pipeline reads from AMI: queue abandons, and what its call-variable tracker and sticky queue_log read. */
export const abandonPipelineEvents: AmiConsumer = {
  name: 'abandon pipeline',
  events: [...new Set(['QueueCallerAbandon', ...callVarEvents.events, ...stickyQueueLogEvents.events])],
  variables: callVarEvents.variables,
};

/** Record ids recently handled: a replayed event is not logged or sent twice. */
const SEEN_MAX = 5000;

export class AbandonPipeline {
  private readonly vars: CallVarTracker;
  private readonly queueLog: StickyQueueLog | undefined;
  private readonly clock: () => DateTime;
  private readonly seen = new BoundedMap<string, true>(SEEN_MAX);
  private started = false;

  private readonly onSink = (e: AbandonEvent) => void this.handle(e);
  private readonly onAmiEvent = (e: AmiEvent) => this.amiEvent(e);
  private readonly onAmiConnected = () => void this.queueLog?.flush();

  constructor(private readonly o: AbandonPipelineOptions) {
    this.vars = new CallVarTracker({ max: o.maxTrackedCalls });
    this.queueLog = o.queueLog === false ? undefined : new StickyQueueLog(o.ami, o.log, o.queueLog);
    this.clock = o.clock ?? (() => DateTime.utc());
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.o.sink.subscribe(this.onSink);
    this.o.ami.on('event', this.onAmiEvent);
    this.o.ami.on('connected', this.onAmiConnected);
  }

  /** Unsubscribes; the outbox is stopped by its owner. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.o.sink.removeListener('abandon', this.onSink);
    this.o.ami.removeListener('event', this.onAmiEvent);
    this.o.ami.removeListener('connected', this.onAmiConnected);
    this.vars.clear();
    this.queueLog?.clear();
  }

  /**
   * The caller's latest abandon at or after `since`, for the router: a caller who
   * abandoned and calls back is flagged in the decision log. Never throws.
   */
  recentAbandonFor(e164: string, since: DateTime): RecentAbandon | undefined {
    try {
      return this.o.outbox.recentAbandonFor(e164, since.toMillis());
    } catch (err) {
      this.o.log.warn({ err }, 'recent abandon lookup failed');
      return undefined;
    }
  }

  /** True when this process already handled the abandon record `id` (live or read back). */
  knows(id: string): boolean {
    return this.seen.has(id);
  }

  /** Runs one abandon through every step; resolves with the record (undefined for a repeat). */
  async handle(e: AbandonEvent): Promise<AbandonRecord | undefined> {
    let record: AbandonRecord;
    try {
      record = AbandonRecord.fromEvent(e, { shortAbandonMs: this.o.shortAbandonMs?.(e.did) });
    } catch (err) {
      this.o.log.error({ err, uniqueid: e.uniqueid, source: e.source }, 'abandon event unusable');
      return undefined;
    }
    if (this.seen.has(record.id)) return undefined;
    this.remember(record.id);

    this.o.log.info({ event: 'abandon', abandon: record }, record.late ? 'caller abandoned (read back late from queue_log)' : record.short ? 'caller abandoned (short abandon: nobody notified)' : 'caller abandoned');
    try {
      await this.o.persist(record);
    } catch (err) {
      this.o.log.error({ err, abandon: { id: record.id } }, 'abandon record not persisted');
    }
    try {
      const r = this.o.outbox.enqueue(record);
      if (r.deduped) this.o.log.info({ abandon: { id: record.id }, notification: r.notificationId, count: r.count }, 'abandon folded into the caller\'s open notification');
    } catch (err) {
      this.o.log.error({ err, abandon: { id: record.id } }, 'abandon notification not queued');
    }
    // Router-phase abandons (ringing or held for the agent): no queue saw them, so the router writes their queue_log lines.
    if (record.source !== 'queue') await this.queueLog?.abandoned(record);
    return record;
  }

  private amiEvent(e: AmiEvent): void {
    if (e.Event !== 'QueueCallerAbandon') {
      this.vars.onAmiEvent(e);
      this.queueLog?.onAmiEvent(e);
      return;
    }
    let ev: AbandonEvent;
    try {
      // A queue entered on a Local channel carries the caller's vars on the Linkedid.
      const v = this.vars.get(e.Uniqueid) ?? this.vars.get(e.Linkedid);
      const joined = v?.queueJoinedAt;
      ev = abandonFromQueueEvent(e, {
        region: this.o.region,
        now: this.clock(),
        did: v?.did,
        stickyAgent: v?.agent,
        joinedAt: joined !== undefined ? DateTime.fromMillis(joined, { zone: 'utc' }) : undefined,
        waitingMs: v ? this.vars.waitingMs(v) : undefined,
      });
    } catch (err) {
      this.o.log.warn({ err, uniqueid: e.Uniqueid }, 'QueueCallerAbandon not understood');
      return;
    }
    void this.handle(ev);
  }

  private remember(id: string): void {
    this.seen.set(id, true);
  }
}
