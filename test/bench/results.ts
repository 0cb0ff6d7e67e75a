// What one `npm run bench` measured, as data: run.ts fills it in, render.ts turns it
// into test/bench/RESULTS.md and the stdout table. Measuring and rendering are apart,
// so a saved measurement (results.json in the work directory) can be rendered again.
import type * as T from './stages/throughput.js';

export type PreDialSide = 'plain' | 'minimal' | 'minimalSub' | 'router' | 'es';
export interface Quantiles {
  p50: number;
  p99: number;
  n: number;
}

export interface SetupStats {
  runs: { journal: number[]; memory: number[]; es: number[]; base: number[]; baseEs: number[]; minimal: number[]; baseMin: number[]; minimalSub: number[]; baseMinSub: number[]; minimalContinue: number[] }[];
  decide: Record<'memory' | 'journal' | 'elasticsearch', { decide: number[]; lookup: number[]; /** routerMs: frame arrived → continue issued (absent in results from before it existed). */ router?: number[]; noDecideMs: number }[]>;
  anomalies: string[];
  /** The double's answer to the router's lookup: back to back (hot), and one per spacedGapMs (as calls arrive; absent in older results). */
  esDoubleMs: { p50: number; p99: number; spacedP50?: number; spacedP99?: number; spacedGapMs?: number };
  /** Asterisk's time from creating the agent's channel to sending it the INVITE (AMI Newchannel → DialBegin), by side (absent in older results). */
  preDialMs?: Record<PreDialSide, Quantiles>;
  /** The caller's channel from Stasis() to the first step of [sticky-ring] (AMI Newexten stamps): the app's whole share as Asterisk sees it, by side (absent in older results). */
  inStasisMs?: Record<Exclude<PreDialSide, 'plain'>, Quantiles>;
  wsPerCall: { plain: Record<string, number>; subscribed: Record<string, number> };
  amiPerCall: { router: number; baseline: number; routerBytes: number; baselineBytes: number; used: number; types: Record<string, number> } | undefined;
}

export interface IngestOut {
  templates: string;
  runs: { mode: string; events: number; docs: number; shipped: number; shipErrors: number; ingestPerS: number; endToEndPerS: number; rssPeakMb: number }[];
  parser: { eventsPerS64k: number; eventsPerSOnePerChunk: number; avgEventBytes: number };
  steps: { cdrFromAmiEventUs: number; journalAppendUs: number; journalAppendMany100Us: number; rememberCdrUs: number; luxonFromFormatToIsoUs: number };
  maxRssMb: number;
}

export interface LookupOut {
  rows: number;
  customers: number;
  buildS: number;
  dbBytes: number;
  lookupsPerSetPerRun: number;
  runs: Record<string, { p50: number; p99: number; max: number; hitRate: number }>[];
  maxRssMb: number;
}

export interface BenchResults {
  config: {
    runs: number;
    calls: number;
    rates: number[];
    stepS: number;
    /** The throughput stage's agents: extensions first…first+count-1, one sipp phone on port. */
    agents: { first: number; count: number; port: number };
    /** The throughput stage's pass mark for answer p95. */
    maxAnswerP95Ms: number;
  };
  machine: { cpus: number; cpuModel: string; memGb: number; node: string; asterisk: string; sipp: string };
  /** sha256 over src/**: the product code this run measured. */
  srcFingerprint: string;
  /** Which router ran: the built dist/ or the sources through tsx (absent in older results: src). */
  routerFrom?: 'dist' | 'src';
  startedAt: number;
  endedAt: number;
  loads: { stage: string; load: number[] }[];
  skipped: string[];
  setup?: SetupStats;
  throughput?: { runs: T.StepResult[][]; routerRss: number };
  ingest?: IngestOut;
  lookup?: LookupOut;
}
