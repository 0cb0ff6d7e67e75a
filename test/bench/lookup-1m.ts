// Stage 5: Journal.lastAgentFor on a journal of 1,000,000 CDRs (in-process, no Asterisk).
// Run by test/bench/run.ts as a child process; prints one JSON object on stdout.
//
// The journal is built with the product's own Journal.appendMany from CDR documents
// of the product's schema: 250,000 customers over the 7-day journal retention, 3 in 4
// conversations talked to one of 200 agents, the rest IVR-only or unanswered. On top
// of that, 100 "frequent callers" each have 200 non-talked CDRs inside the lookup
// window (the index (customer_e164, ts) finds them, but `talked = 1` is checked row by
// row): the worst case for this query.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { Journal } from '../../src/cdr/journal.js';
import type { CdrDocument } from '../../src/cdr/schema.js';
import { percentile } from './lib/stats.js';

const TOTAL = Number(process.env.BENCH_JOURNAL_ROWS ?? 1_000_000);
const CUSTOMERS = 250_000;
const HEAVY = 100;
const HEAVY_ROWS = 200;
const WINDOW_MS = 30 * 60_000;
const RETENTION_MS = 7 * 24 * 3600_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LOOKUPS = 5000;

// Deterministic PRNG so every run builds the same journal.
let seed = 0x2545f491;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const customer = (i: number) => `+1212${String(5_000_000 + i).padStart(7, '0')}`;
const heavyNumber = (i: number) => `+1646${String(7_000_000 + i).padStart(7, '0')}`;

function doc(n: number, e164: string, agent: string | undefined, talked: boolean, endMs: number): CdrDocument {
  const talk = talked ? 30 + Math.floor(rand() * 600) : 0;
  const end = new Date(endMs).toISOString();
  const start = new Date(endMs - (talk + 12) * 1000).toISOString();
  const uid = `${Math.floor(endMs / 1000) - talk - 12}.${n}`;
  return {
    id: `bench${String(n).padStart(27, '0')}`,
    '@timestamp': end,
    direction: 'inbound',
    customer_e164: e164,
    customer_raw: e164,
    ...(agent ? { agent } : {}),
    talk_seconds: talk,
    talked,
    did: '100',
    ...(agent ? { sticky_reason: 'sticky_agent' } : {}),
    asterisk: {
      src: e164, dst: 's', dcontext: agent ? 'sticky-ring' : 'ivr', clid: `"${e164}" <${e164}>`,
      channel: `PJSIP/trunk-${n.toString(16).padStart(8, '0')}`, dstchannel: agent ? `PJSIP/${agent}-${(n + 1).toString(16).padStart(8, '0')}` : '',
      lastapp: agent ? 'Dial' : 'Queue', lastdata: agent ? `PJSIP/${agent},20` : 'support,t,,,600', start, ...(talked ? { answer: start } : {}), end,
      duration: talk + 12, billsec: talk, disposition: talked ? 'ANSWERED' : 'NO ANSWER', amaflags: 'DOCUMENTATION', accountcode: '', uniqueid: uid, linkedid: uid, userfield: '',
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'sticky-bench-journal-'));
const nowMs = Date.now();
const journal = new Journal(dir);
// Latest talked conversation per customer, to sort numbers into sure hits and sure misses.
const lastTalked = new Map<string, number>();
const seen = new Set<string>();
const t0 = performance.now();
try {
  let n = 0;
  const regular = TOTAL - HEAVY * HEAVY_ROWS;
  const batch: CdrDocument[] = [];
  const flush = () => {
    journal.appendMany(batch);
    batch.length = 0;
  };
  for (let i = 0; i < regular; i++) {
    // Skewed: a few customers call often, most rarely.
    const c = Math.floor(CUSTOMERS * rand() ** 2);
    const e164 = customer(c);
    const endMs = nowMs - Math.floor(rand() * RETENTION_MS);
    const r = rand();
    const talked = r < 0.75;
    const agent = talked || r < 0.85 ? `1${String(1 + Math.floor(rand() * 200)).padStart(3, '0')}` : undefined;
    batch.push(doc(n++, e164, agent, talked && agent !== undefined, endMs));
    seen.add(e164);
    if (talked && agent !== undefined && endMs > (lastTalked.get(e164) ?? 0)) lastTalked.set(e164, endMs);
    if (batch.length === 20_000) flush();
  }
  for (let h = 0; h < HEAVY; h++) {
    const e164 = heavyNumber(h);
    // The one talked CDR is the oldest in the window: every non-talked one is scanned first.
    batch.push(doc(n++, e164, '1001', true, nowMs - WINDOW_MS + 600_000));
    for (let k = 1; k < HEAVY_ROWS; k++) batch.push(doc(n++, e164, undefined, false, nowMs - Math.floor(rand() * (WINDOW_MS - 660_000))));
    if (batch.length >= 20_000) flush();
  }
  flush();
  const buildS = (performance.now() - t0) / 1000;
  const dbBytes = statSync(journal.path).size;

  // Sure hits stay inside the window for the whole measurement (building takes a while).
  const hits = [...lastTalked].filter(([, t]) => t > nowMs - WINDOW_MS + 600_000).map(([c]) => c);
  const known = [...seen].filter((c) => (lastTalked.get(c) ?? 0) < nowMs - WINDOW_MS);
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]!;
  const sets: Record<string, () => string> = {
    hit: () => pick(hits),
    miss_known: () => pick(known),
    miss_unknown: () => customer(CUSTOMERS + Math.floor(rand() * 1e6)),
    heavy: () => heavyNumber(Math.floor(rand() * HEAVY)),
  };
  const time = (e164: string) => {
    const since = DateTime.utc().minus({ milliseconds: WINDOW_MS });
    const a = performance.now();
    const hit = journal.lastAgentFor(e164, since);
    return { ms: performance.now() - a, hit };
  };
  // Warm-up: page cache and statement.
  for (let i = 0; i < 2000; i++) time(sets[Object.keys(sets)[i % 4]!]!());

  const runs: Record<string, { p50: number; p99: number; max: number; hitRate: number }>[] = [];
  for (let r = 0; r < RUNS; r++) {
    const out: Record<string, { p50: number; p99: number; max: number; hitRate: number }> = {};
    const mixed: number[] = [];
    for (const [name, next] of Object.entries(sets)) {
      const ms: number[] = [];
      let found = 0;
      for (let i = 0; i < LOOKUPS; i++) {
        const t = time(next());
        ms.push(t.ms);
        if (t.hit) found++;
      }
      // The realistic mix: hits, misses (known and unknown numbers); heavy callers reported apart.
      if (name !== 'heavy') mixed.push(...ms);
      out[name] = { p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms), hitRate: found / LOOKUPS };
    }
    out.mixed = { p50: percentile(mixed, 50), p99: percentile(mixed, 99), max: Math.max(...mixed), hitRate: NaN };
    runs.push(out);
  }
  process.stdout.write(`${JSON.stringify({ rows: n, customers: seen.size + HEAVY, buildS, dbBytes, lookupsPerSetPerRun: LOOKUPS, runs, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
} finally {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
}
