// How much slower this machine runs the same code right after the process slept:
// a fixed slice of a routed call's work (normalise a caller number the router has
// not seen, then ask the journal for that caller's last agent: src/numbers.ts and
// the journal's lookup) timed back to back, and again after a 20 ms sleep each time
// (50 calls/s leaves ~20 ms between calls). On a shared VM the second is several
// times the first: caches and branch predictors are cold again after each sleep.
// That is why CPU per call and routerMs grow as the call rate falls (section 6).
// Prints one JSON line.   npx tsx test/bench/wake-penalty.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { Journal } from '../../src/cdr/journal.js';
import { normalizeNumber } from '../../src/numbers.js';
import { historyDoc } from '../support/history.js';
import { percentile } from './lib/stats.js';

const SAMPLES = Number(process.env.BENCH_WAKE_SAMPLES ?? 400);
const GAP_MS = 20;
const dir = mkdtempSync(join(tmpdir(), 'sticky-bench-wake-'));
const journal = new Journal(join(dir, 'data'));
const at = DateTime.utc().minus({ minutes: 10 });
const caller = (i: number) => `+1310${String(5_000_000 + i)}`;
journal.appendMany(Array.from({ length: 2 * SAMPLES + 2000 }, (_, i) => historyDoc(caller(i), String(7000 + (i % 1000)), at)));
const since = DateTime.utc().minus({ minutes: 30 });

let next = 0;
/** One slice of a call's work on a caller not seen before; returns its time in µs. */
function slice(): number {
  const t0 = performance.now();
  const n = normalizeNumber(caller(next++), 'US');
  const hits = journal.lastAgentsFor(n.e164!, since, 1, false);
  if (hits.length !== 1) throw new Error(`no journal hit for ${n.e164}`);
  return (performance.now() - t0) * 1000;
}

for (let i = 0; i < 2000; i++) slice(); // JIT warm-up on callers the samples do not use
const hot = Array.from({ length: SAMPLES }, () => slice());
const cold: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  await new Promise((r) => setTimeout(r, GAP_MS));
  cold.push(slice());
}
journal.close();
rmSync(dir, { recursive: true, force: true });
const hotP50 = percentile(hot, 50);
const coldP50 = percentile(cold, 50);
process.stdout.write(`${JSON.stringify({ samples: SAMPLES, gapMs: GAP_MS, hotP50Us: hotP50, afterSleepP50Us: coldP50, ratio: coldP50 / hotP50 })}\n`);
