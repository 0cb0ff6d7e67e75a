// Prometheus metrics for the router, in a registry of its own (never prom-client's
// global one, so tests and embedders get a clean set each time). Typed methods keep
// label values to the known codes: a typo cannot mint a new time series.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AbandonEvent } from './abandon/sink.js';
import type { RingOutcome } from './routing/call.js';
import { reasons, type Reason } from './routing/reasons.js';

export type AbandonSource = AbandonEvent['source'];
export type Link = 'ari' | 'ami';

/** A number read when Prometheus scrapes; a throw or a non-finite value reports NaN for that scrape. */
export type Sampler = () => number | Promise<number>;

export interface MetricsOptions {
  /** Journal records not yet shipped to Elasticsearch (e.g. `() => journal.backlog()`). */
  journalBacklog?: Sampler;
  /** Calls between StasisStart and their end (lookup, ringing the sticky agent). */
  callsInProgress?: Sampler;
  /**
   * A cumulative count of failed shipping attempts (e.g. `() => shipper.stats.errors`):
   * the counter follows its increases at scrape time. Use this or shippingError(), not both.
   */
  shippingErrors?: Sampler;
  /** Node/process metrics (CPU, memory, event-loop lag, GC, fds). Default true. */
  defaultMetrics?: boolean;
  /** LOOKUP_TIMEOUT in seconds, exported so an alert can compare the lookup p95 with it. */
  lookupTimeoutSeconds?: number;
  /** The /readyz checks at scrape time (e.g. `{ ari: true, ami: false }`): `sticky_ready{check}`. */
  ready?: ReadySampler;
}

/** Each readiness check's state now; a throw reports every known check as not ready. */
export type ReadySampler = () => Record<string, boolean> | Promise<Record<string, boolean>>;

/** Lookup sources pre-created at zero, so a rate() exists before the first call. */
export const lookupSources = ['memory', 'elasticsearch', 'journal', 'miss', 'failed'] as const;
const ringOutcomes: readonly RingOutcome[] = ['answered', 'no_answer', 'busy', 'unavailable', 'caller_hung_up'];
const abandonSources: readonly AbandonSource[] = ['sticky_ring', 'sticky_wait', 'queue'];
const links: readonly Link[] = ['ari', 'ami'];

// 0.1 ms (memory) through 1 s; 0.3 s is the default LOOKUP_TIMEOUT, so "over budget" is one bucket.
const lookupBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1];
// Ringing the agent: seconds to answer, up to a minute (AGENT_RING_TIMEOUT defaults to 20 s).
const ringBuckets = [0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 25, 30, 45, 60];

type Samplers = Pick<MetricsOptions, 'journalBacklog' | 'callsInProgress' | 'shippingErrors' | 'ready'>;

export class Metrics {
  readonly registry = new Registry();
  private readonly decisions: Counter<'reason'>;
  private readonly lookups: Histogram<'source'>;
  private readonly ringOutcomes: Counter<'outcome'>;
  private readonly ringSeconds: Histogram;
  private readonly abandons: Counter<'source'>;
  private readonly shippingErrors: Counter;
  private readonly reconnects: Counter<'link'>;
  private readonly samplers: Samplers;

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    const samplers = (this.samplers = { journalBacklog: opts.journalBacklog, callsInProgress: opts.callsInProgress, shippingErrors: opts.shippingErrors, ready: opts.ready });
    this.decisions = new Counter({ name: 'sticky_decisions_total', help: 'Routing decisions by final reason code', labelNames: ['reason'], registers });
    this.lookups = new Histogram({ name: 'sticky_lookup_seconds', help: 'Time to find the last agent, by the source that answered (miss: no source had one; failed: error or over budget)', labelNames: ['source'], buckets: lookupBuckets, registers });
    this.ringOutcomes = new Counter({ name: 'sticky_ring_outcomes_total', help: 'How ringing the sticky agent ended', labelNames: ['outcome'], registers });
    this.ringSeconds = new Histogram({ name: 'sticky_ring_seconds', help: 'Time the sticky agent rang until answer, timeout, busy or the caller hanging up', buckets: ringBuckets, registers });
    this.abandons = new Counter({ name: 'sticky_abandons_total', help: 'Callers who hung up before an agent answered, by where they waited', labelNames: ['source'], registers });
    let shippedErrorsSeen = 0;
    this.shippingErrors = new Counter({
      name: 'sticky_shipping_errors_total',
      help: 'Failed attempts to ship journal records to Elasticsearch',
      registers,
      async collect() {
        const sampler = samplers.shippingErrors;
        if (!sampler) return;
        try {
          const total = await sampler();
          if (!Number.isFinite(total)) return;
          if (total > shippedErrorsSeen) this.inc(total - shippedErrorsSeen);
          shippedErrorsSeen = total; // a smaller total is a new shipper: follow it from there
        } catch {
          // The counter keeps its last value.
        }
      },
    });
    this.reconnects = new Counter({ name: 'sticky_reconnects_total', help: 'Reconnections to Asterisk, by link', labelNames: ['link'], registers });
    new Gauge({
      name: 'sticky_journal_backlog',
      help: 'Journal records waiting to be shipped to Elasticsearch',
      registers,
      async collect() {
        await sample(this, samplers.journalBacklog);
      },
    });
    new Gauge({
      name: 'sticky_calls_in_progress',
      help: 'Calls the router is handling now (in Stasis or ringing the sticky agent)',
      registers,
      async collect() {
        await sample(this, samplers.callsInProgress);
      },
    });
    // /readyz as a metric, so Prometheus alerts on it without a blackbox exporter.
    const readyChecks = new Set(['ari', 'ami']);
    new Gauge({
      name: 'sticky_ready',
      help: 'Readiness checks of /readyz: 1 ready, 0 not (ari: Stasis app registered; ami: logged in; elasticsearch: answers, when ES_NODE is set)',
      labelNames: ['check'],
      registers,
      async collect() {
        const sampler = samplers.ready;
        if (!sampler) return;
        let checks: Record<string, boolean>;
        try {
          checks = await sampler();
        } catch {
          checks = Object.fromEntries([...readyChecks].map((c) => [c, false]));
        }
        for (const [check, ok] of Object.entries(checks)) {
          readyChecks.add(check);
          this.set({ check: labelValue(check) }, ok ? 1 : 0);
        }
      },
    });
    if (opts.lookupTimeoutSeconds !== undefined) {
      new Gauge({ name: 'sticky_lookup_timeout_seconds', help: 'LOOKUP_TIMEOUT: the lookup budget; past it the caller goes to the fallback', registers }).set(opts.lookupTimeoutSeconds);
    }
    for (const reason of reasons) this.decisions.inc({ reason }, 0);
    for (const source of lookupSources) this.lookups.zero({ source });
    for (const outcome of ringOutcomes) this.ringOutcomes.inc({ outcome }, 0);
    for (const source of abandonSources) this.abandons.inc({ source }, 0);
    for (const link of links) this.reconnects.inc({ link }, 0);
    // The event-loop delay histogram samples on a timer: prom-client's default 10 ms
    // wakes the process 100 times a second, most of what an idle router spent (0.65 %
    // of a core against 0.10–0.20 % at 100 ms). Sampled every 100 ms, a stall still shows.
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  /** Binds samplers when their owners exist only after the metrics (app start-up order). */
  sampleFrom(samplers: Samplers): void {
    Object.assign(this.samplers, samplers);
  }

  /** One per call, with its final reason (after the ring outcome). */
  decision(reason: Reason): void {
    this.decisions.inc({ reason });
  }

  /** `source`: the LastAgentHit.source that answered, `miss`, or `failed`. */
  lookup(source: string, seconds: number): void {
    if (!(seconds >= 0)) return;
    this.lookups.observe({ source: labelValue(source) }, seconds);
  }

  ring(outcome: RingOutcome, seconds: number): void {
    this.ringOutcomes.inc({ outcome });
    if (seconds >= 0) this.ringSeconds.observe(seconds);
  }

  abandon(source: AbandonSource): void {
    this.abandons.inc({ source });
  }

  shippingError(count = 1): void {
    if (count > 0) this.shippingErrors.inc(count);
  }

  reconnect(link: Link): void {
    this.reconnects.inc({ link });
  }

  /** The Prometheus text exposition (format 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

async function sample(gauge: Gauge, sampler: Sampler | undefined): Promise<void> {
  if (!sampler) return;
  try {
    const v = await sampler();
    gauge.set(Number.isFinite(v) ? v : NaN);
  } catch {
    // A failing sampler must not fail the whole scrape, nor pass for 0: NaN is Prometheus's
    // "unknown" (prom-client writes it "Nan"; Prometheus parses special values case-insensitively).
    gauge.set(NaN);
  }
}

/** Label values are short codes; anything else (a bug, not input) is folded into `other`. */
function labelValue(v: string): string {
  return /^[a-z][a-z0-9_]{0,31}$/.test(v) ? v : 'other';
}
