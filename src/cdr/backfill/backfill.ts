// When to read back what AMI did not deliver, and what to say when that fails.
// A gap is the time between the last data the AMI socket delivered and the next
// login: after a reconnect, and at start (the last data time is kept in the
// journal, so a router killed with SIGKILL still knows where its gap began).
// CDRs are read by row number (everything posted since the last run, gap or
// not); queue abandons by the gap's time span. A store that cannot be read is
// logged with the gap's span and counted, and tried again at the next run.
import type { Logger } from '../../log.js';
import type { AbandonEvent } from '../../abandon/sink.js';
import type { QueueLogGap } from '../../abandon/backfill/queue-log-abandons.js';
import type { CdrBackfill, WatermarkStore } from './cdr-backfill.js';

export interface AmiLink {
  readonly connected: boolean;
  readonly connectedAt: number | undefined;
  /** Epoch ms of the last bytes the current (or last) AMI socket delivered. */
  readonly lastDataAt: number | undefined;
  on(event: 'connected' | 'disconnected', l: () => void): unknown;
  removeListener(event: 'connected' | 'disconnected', l: () => void): unknown;
}

export interface LateAbandons {
  path: string;
  scan(gaps: readonly QueueLogGap[]): Promise<AbandonEvent[]>;
  /** True when the router already has this abandon (journal or in memory). */
  known(e: AbandonEvent): boolean;
  handle(e: AbandonEvent): Promise<unknown>;
}

export interface BackfillMetrics {
  records(kind: 'cdr' | 'abandon', n: number): void;
  unfilledGap(store: 'cdr' | 'queue_log'): void;
}

export interface BackfillOptions {
  ami: AmiLink;
  meta: WatermarkStore;
  cdr?: CdrBackfill;
  abandons?: LateAbandons;
  intervalMs: number;
  /** While DATA_DIR cannot be written, nothing is read back (it would only fill the buffer). */
  localWritesFailing: () => boolean;
  metrics: BackfillMetrics;
  log: Logger;
  now?: () => number;
  /** How often the last AMI data time is saved. Default 5 s. */
  heartbeatMs?: number;
}

const LAST_DATA_KEY = 'ami.last_data_at';
/** Events in flight when the socket died are a little older than its last bytes. */
const GAP_MARGIN_MS = 2000;
const MAX_PENDING_GAPS = 100;

interface Gap extends QueueLogGap {
  reason: string;
  cdrFilled: boolean;
  cdrReported: boolean;
  queueLogDone: boolean;
  queueLogReported: boolean;
}

export class Backfill {
  private readonly now: () => number;
  private readonly gaps: Gap[] = [];
  private gapFrom: number | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private interval: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private cdrStoreOk = true;
  private stopped = false;
  private readonly onConnected = () => {
    const from = this.gapFrom;
    this.gapFrom = undefined;
    if (from !== undefined) this.addGap(from, this.now(), 'ami reconnect');
    void this.kick();
  };
  private readonly onDisconnected = () => {
    this.gapFrom = this.o.ami.lastDataAt ?? this.now();
    this.saveLastData();
  };

  constructor(private readonly o: BackfillOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Call once AMI is logged in: reads the gap since the last run's last AMI data. */
  start(): Promise<void> {
    const saved = Number(this.safeMeta(LAST_DATA_KEY));
    if (Number.isFinite(saved) && saved > 0) this.addGap(saved, this.now(), 'start');
    else this.o.log.info('no earlier AMI session recorded in the journal: no queue_log gap to read at this start');
    this.o.ami.on('connected', this.onConnected);
    this.o.ami.on('disconnected', this.onDisconnected);
    this.interval = setInterval(() => void this.kick(), this.o.intervalMs);
    this.interval.unref();
    this.heartbeat = setInterval(() => this.saveLastData(), this.o.heartbeatMs ?? 5000);
    this.heartbeat.unref();
    // At once: a router killed seconds after start still leaves where its gap begins.
    const run = this.kick();
    this.saveLastData();
    return run;
  }

  /** Runs now (or right after the run in progress). Resolves when that run is done. */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.runOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.interval);
    clearInterval(this.heartbeat);
    clearTimeout(this.followUpTimer);
    this.o.ami.removeListener('connected', this.onConnected);
    this.o.ami.removeListener('disconnected', this.onDisconnected);
    await this.running;
    this.saveLastData();
    this.o.cdr?.close();
  }

  /** Gaps whose queue abandons could not be read yet. */
  get pendingGaps(): number {
    return this.gaps.length;
  }

  private addGap(fromMs: number, toMs: number, reason: string): void {
    const gap: Gap = { fromMs: fromMs - GAP_MARGIN_MS, toMs, reason, cdrFilled: !this.o.cdr, cdrReported: false, queueLogDone: !this.o.abandons, queueLogReported: false };
    this.o.log.info({ gap: span(gap), reason }, 'ami gap: reading what Asterisk recorded meanwhile');
    this.gaps.push(gap);
    if (this.gaps.length > MAX_PENDING_GAPS) {
      const dropped = this.gaps.shift()!;
      this.o.log.error({ gap: span(dropped) }, 'too many unread ami gaps; the oldest is given up');
    }
  }

  private async runOnce(): Promise<void> {
    if (this.o.localWritesFailing()) {
      this.o.log.debug('backfill postponed: DATA_DIR cannot be written');
      return;
    }
    await this.runCdr();
    await this.runAbandons();
    // A gap is done when both stores were read for it.
    for (let i = this.gaps.length - 1; i >= 0; i--) {
      const g = this.gaps[i]!;
      if (g.cdrFilled && g.queueLogDone) this.gaps.splice(i, 1);
    }
  }

  private async runCdr(): Promise<void> {
    const cdr = this.o.cdr;
    if (!cdr) return;
    try {
      // Between two turns of the run: a stop, or a disk that began refusing writes
      // (what is read then would only fill the write buffer), ends it there.
      const r = await cdr.run({ stop: () => this.stopped || this.o.localWritesFailing() });
      if (r.learned > 0) {
        this.o.metrics.records('cdr', r.learned);
        this.o.log.warn({ learned: r.learned, read: r.read, gaps: this.gaps.map(span) }, 'cdrs that AMI had not delivered read back from the cdr store');
      }
      if (r.deferred) this.followUp(cdr.settleMs + 500);
      if (!this.cdrStoreOk) this.o.log.warn('cdr store readable again');
      this.cdrStoreOk = true;
      // Cut short: the gaps stay open and the next run goes on from the watermark.
      if (r.stopped) return;
      for (const g of this.gaps) g.cdrFilled = true;
    } catch (err) {
      const e = (err as Error).message;
      for (const g of this.gaps) {
        if (g.cdrReported) continue;
        g.cdrReported = true;
        this.o.metrics.unfilledGap('cdr');
        this.o.log.error({ store: 'cdr', path: cdr.storePath, gap: span(g), err: e }, 'ami gap not backfilled: the cdr store cannot be read; retrying at the next run');
      }
      if (this.cdrStoreOk) this.o.log.error({ path: cdr.storePath, err: e }, 'cdr store cannot be read');
      this.cdrStoreOk = false;
    }
  }

  private followUpTimer: NodeJS.Timeout | undefined;

  /** Rows were left to the live path: look again once they are old enough (AMI may not have had them). */
  private followUp(ms: number): void {
    if (this.followUpTimer || this.stopped) return;
    this.followUpTimer = setTimeout(() => {
      this.followUpTimer = undefined;
      void this.kick();
    }, ms);
    this.followUpTimer.unref();
  }

  private async runAbandons(): Promise<void> {
    const a = this.o.abandons;
    const gaps = this.gaps.filter((g) => !g.queueLogDone);
    if (!a || gaps.length === 0) return;
    let events: AbandonEvent[];
    try {
      events = await a.scan(gaps);
    } catch (err) {
      for (const g of gaps) {
        if (g.queueLogReported) continue;
        g.queueLogReported = true;
        this.o.metrics.unfilledGap('queue_log');
        this.o.log.error({ store: 'queue_log', path: a.path, gap: span(g), err: (err as Error).message }, 'ami gap not backfilled: queue_log cannot be read; retrying at the next run');
      }
      return;
    }
    let late = 0;
    for (const e of events) {
      if (a.known(e)) continue;
      late++;
      await a.handle(e);
    }
    if (late > 0) {
      this.o.metrics.records('abandon', late);
      this.o.log.warn({ late, gaps: gaps.map(span) }, 'queue abandons that AMI had not delivered read back from queue_log; recorded and notified late');
    }
    for (const g of gaps) g.queueLogDone = true;
  }

  private saveLastData(): void {
    const at = this.o.ami.connected ? Math.max(this.o.ami.lastDataAt ?? 0, 0) : (this.gapFrom ?? this.o.ami.lastDataAt);
    if (!at) return;
    try {
      this.o.meta.setMeta(LAST_DATA_KEY, String(at));
    } catch {
      // DATA_DIR not writable: the journal's own buffer reports that; this is a hint only.
    }
  }

  private safeMeta(key: string): string | undefined {
    try {
      return this.o.meta.getMeta(key);
    } catch {
      return undefined;
    }
  }
}

function span(g: QueueLogGap): { from: string; to: string; seconds: number } {
  return { from: new Date(g.fromMs).toISOString(), to: new Date(g.toMs).toISOString(), seconds: Math.round((g.toMs - g.fromMs) / 1000) };
}
