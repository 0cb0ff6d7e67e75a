// Metrics of the "nothing lost" machinery, registered on the router's registry:
// local write failures, backfill from Asterisk's own records, records the cluster
// refused, notifications given up on. Gauges are sampled at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BackfillMetrics } from '../cdr/backfill/backfill.js';

export interface DurabilitySamplers {
  /** Records held in memory per store because DATA_DIR could not be written. */
  buffered: () => Record<string, number>;
  /** Cumulative refusals of a full buffer, per store. */
  refused: () => Record<string, number>;
  /** Journal records Elasticsearch refused (kept, listed by `sticky-router rejected`). */
  rejected?: () => number;
  /** Notifications given up on, per channel (`sticky-router notifications requeue`). */
  failedNotifications?: () => Record<string, number>;
}

export class DurabilityMetrics implements BackfillMetrics {
  private readonly backfilled: Counter<'kind'>;
  private readonly unfilled: Counter<'store'>;
  private readonly writeFailures: Counter<'store'>;

  constructor(registry: Registry, s: DurabilitySamplers) {
    const registers = [registry];
    this.backfilled = new Counter({ name: 'sticky_backfill_records_total', help: 'Records AMI had not delivered, read back from Asterisk\'s own CDR store or queue_log', labelNames: ['kind'], registers });
    this.unfilled = new Counter({ name: 'sticky_backfill_unfilled_gaps_total', help: 'AMI gaps whose records could not be read back (store unreadable); retried at the next run', labelNames: ['store'], registers });
    this.writeFailures = new Counter({ name: 'sticky_local_write_failures_total', help: 'Episodes of DATA_DIR refusing writes (disk full, read-only, locked), per store', labelNames: ['store'], registers });
    for (const kind of ['cdr', 'abandon']) this.backfilled.inc({ kind }, 0);
    for (const store of ['cdr', 'queue_log']) this.unfilled.inc({ store }, 0);
    for (const store of ['journal', 'outbox']) this.writeFailures.inc({ store }, 0);
    new Gauge({
      name: 'sticky_local_write_buffered',
      help: 'Records held in memory because DATA_DIR cannot be written; >0 means /readyz is not ready',
      labelNames: ['store'],
      registers,
      collect() {
        this.reset();
        for (const [store, n] of Object.entries(s.buffered())) this.set({ store }, n);
      },
    });
    new Gauge({
      name: 'sticky_local_write_refused',
      help: 'Records refused because the in-memory buffer was full (cumulative; CDRs are read back from the Asterisk store later)',
      labelNames: ['store'],
      registers,
      collect() {
        this.reset();
        for (const [store, n] of Object.entries(s.refused())) this.set({ store }, n);
      },
    });
    if (s.rejected) {
      const rejected = s.rejected;
      new Gauge({
        name: 'sticky_journal_rejected',
        help: 'Journal records Elasticsearch refused for good (kept; `sticky-router rejected list|reship`)',
        registers,
        collect() {
          try {
            this.set(rejected());
          } catch {
            this.set(NaN);
          }
        },
      });
    }
    if (s.failedNotifications) {
      const failed = s.failedNotifications;
      new Gauge({
        name: 'sticky_notifications_failed',
        help: 'Abandon notifications given up on (permanent receiver error), per channel; `sticky-router notifications requeue`',
        labelNames: ['channel'],
        registers,
        collect() {
          this.reset();
          try {
            for (const [channel, n] of Object.entries(failed())) this.set({ channel }, n);
          } catch {
            // The outbox file is unreadable: no sample this scrape.
          }
        },
      });
    }
  }

  records(kind: 'cdr' | 'abandon', n: number): void {
    if (n > 0) this.backfilled.inc({ kind }, n);
  }

  unfilledGap(store: 'cdr' | 'queue_log'): void {
    this.unfilled.inc({ store });
  }

  writeFailure(store: string): void {
    this.writeFailures.inc({ store });
  }
}
