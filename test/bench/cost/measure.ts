// What the router costs the PBX (issue 16), measured on the real harness:
//   idle  router CPU with no calls (agent phones 1001-1003 qualified every 2 s), the
//         first minute after start and a minute after a warm-up;
//   rate  router CPU per call and INVITE → 200 OK per rate, routed (DID 100, every
//         caller a journal hit, 1000 bench agents) and unrouted (DID 999, plain Dial
//         with the router connected), idle CPU subtracted;
//   one   the same one call at a time (sequential), routed;
//   soak  router RSS sampled every 10 s under steady routed load (shortened: BENCH_SOAK_S);
// plus, in-process: the CDR ingest path (test/bench/cdr-ingest-path.ts), the
// 100,000-CDR backfill (test/bench/backfill-100k.ts) and the machine's wake-up
// penalty (test/bench/wake-penalty.ts). Returns the figures; render.ts
// turns them into text and a plot.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../../src/cdr/journal.js';
import { hangupAllChannels, waitEndpointState } from '../../support/harness.js';
import { addBenchAgents, cpuSeconds, ensureHarness, mainThreadWakeups, removeBenchAgents, rssMb, runningPid, stopHarness } from '../lib/pbx.js';
import { routerFrom, startBenchRouter } from '../lib/router.js';
import { runCallers, startPhone, type AgentPhone } from '../../support/sipp.js';
import { percentile } from '../lib/stats.js';
import * as T from '../stages/throughput.js';

export interface RateRow {
  side: 'router' | 'baseline';
  rate: number;
  calls: number;
  correctPct: number;
  answerP50: number;
  answerP95: number;
  routerCpuPct: number;
  /** Router CPU over the step minus idle CPU over the same time, per call (ms). */
  cpuMsPerCall: number;
  /** The router's main-thread wake-ups over the step minus idle's, per call. */
  wakesPerCall?: number;
  load1: number;
}

export interface CostResults {
  idleFirstMinutePct: number;
  idleWarmPct: number;
  /** Main-thread wake-ups per second over the warm idle minute. */
  idleWakesPerS?: number;
  idleWindowS: number;
  rates: RateRow[];
  sequential: { calls: number; ok: number; cpuMsPerCall: number; answerP50: number; wakesPerCall?: number };
  soak: { seconds: number; rate: number; samples: { t: number; rssMb: number }[]; calls: number; correctPct: number };
  rssAfterRatesMb: number;
  ingest: { events: number; cdrsPerS: number; cpuUsPerCdr: number }[];
  /** longestBlockMs: the longest the event loop was held (a timer probe); longestBatchMs: runs before the backfill yielded (it held the loop throughout). */
  backfill: { rows: number; seconds: number; rowsPerS: number; cpuSeconds: number; longestBlockMs?: number; longestBatchMs?: number }[];
  loads: { stage: string; load: number[] }[];
  /** The same slice of call work back to back and after a 20 ms sleep (wake-penalty.ts). */
  wake?: { hotP50Us: number; afterSleepP50Us: number; ratio: number };
  skipped?: string;
  /** Which router ran (absent in older results: src through tsx). */
  routerFrom?: 'dist' | 'src';
}

const env = process.env;
const RATES = (env.BENCH_COST_RATES ?? '5,20,50').split(',').map(Number);
const STEP_S = Number(env.BENCH_STEP_S ?? 10);
const IDLE_S = Number(env.BENCH_IDLE_S ?? 60);
const SOAK_S = Number(env.BENCH_SOAK_S ?? 300);
const SOAK_RATE = Number(env.BENCH_SOAK_RATE ?? 20);
const SEQ_CALLS = Number(env.BENCH_SEQ_CALLS ?? 30);
const say = (m: string) => process.stderr.write(`bench cost: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function child<R>(script: string, extraEnv: Record<string, string> = {}): Promise<R> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', script)], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        res(JSON.parse(out.trim().split('\n').pop() ?? '') as R);
      } catch (err) {
        rej(new Error(`${script}: ${(err as Error).message}: ${out.slice(-300)}`));
      }
    });
  });
}

async function cpuOver(pid: number, seconds: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = Date.now();
  await sleep(seconds * 1000);
  return ((cpuSeconds(pid) - c0) / ((Date.now() - t0) / 1000)) * 100;
}

export async function measureCost(): Promise<CostResults> {
  const loads: CostResults['loads'] = [];
  const noteLoad = (stage: string) => loads.push({ stage, load: loadavg().map((x) => Math.round(x * 100) / 100) });
  const out: CostResults = { idleFirstMinutePct: NaN, idleWarmPct: NaN, idleWindowS: IDLE_S, rates: [], sequential: { calls: 0, ok: 0, cpuMsPerCall: NaN, answerP50: NaN }, soak: { seconds: SOAK_S, rate: SOAK_RATE, samples: [], calls: 0, correctPct: NaN }, rssAfterRatesMb: NaN, ingest: [], backfill: [], loads, routerFrom: routerFrom() };

  noteLoad('in-process: start');
  const inProcess = env.BENCH_COST_IN_PROCESS !== '0';
  for (let r = 0; r < (inProcess ? 3 : 0); r++) out.ingest.push(await child('cdr-ingest-path.ts', { BENCH_EVENTS: '20000' }));
  if (inProcess) out.backfill.push(await child('backfill-100k.ts'));
  if (inProcess) out.wake = await child('wake-penalty.ts');
  noteLoad('in-process: end');

  const h = await ensureHarness();
  if ('unsupported' in h) return { ...out, skipped: h.unsupported };
  const work = mkdtempSync(join(tmpdir(), 'sticky-bench-cost-'));
  const cleanups: (() => Promise<unknown> | void)[] = [];
  try {
    await hangupAllChannels();
    const asteriskPid = runningPid()!;
    const perRate = RATES.reduce((a, r) => a + r * STEP_S, 0);
    const dataDir = join(work, 'data');
    {
      const j = new Journal(dataDir);
      // run 0: the rate steps then the soak; run 1: the sequential calls.
      j.appendMany(T.throughputHistory(1, perRate + SOAK_S * SOAK_RATE));
      j.appendMany(T.throughputHistory(2, SEQ_CALLS).slice(SEQ_CALLS));
      j.close();
    }
    addBenchAgents(T.BENCH_AGENT_FIRST, T.BENCH_AGENTS, T.BENCH_AGENT_PORT);
    cleanups.push(() => removeBenchAgents());
    const phones: AgentPhone[] = [];
    cleanups.push(() => Promise.all(phones.map((p) => p.stop())));
    for (const port of [5071, 5072, 5073, T.BENCH_AGENT_PORT]) phones.push(await startPhone(port, work));
    await waitEndpointState('1002', 'online', 20_000);
    const [, phone1002, , benchPhone] = phones as [AgentPhone, AgentPhone, AgentPhone, AgentPhone];

    noteLoad('idle: start');
    // BENCH_ROUTER_CPU_PROF=<dir>: the router writes a V8 CPU profile there when it stops (lib/cpu-profile-hook.mjs).
    const hook = join(import.meta.dirname, '..', 'lib', 'cpu-profile-hook.mjs');
    const prof: Record<string, string> = env.BENCH_ROUTER_CPU_PROF ? { NODE_OPTIONS: `--import ${hook}`, BENCH_CPU_PROF_DIR: env.BENCH_ROUTER_CPU_PROF } : {};
    // The history is written 10 min before now (T.throughputHistory): a window of 30 min alone
    // turns every call of a 30-minute soak after its 18th minute into no_history (a 1,800 s
    // soak measured 59.67 % routed). Long enough for the whole run; PT30M for the default 300 s.
    const windowMin = Math.max(30, 10 + Math.ceil((SOAK_S + 900) / 60));
    const router = await startBenchRouter({ DATA_DIR: dataDir, STICKY_WINDOW: `PT${windowMin}M`, ...prof }, join(work, 'router-cost.log'));
    cleanups.push(() => router.stop());
    say(`idle: ${IDLE_S} s right after start, then ${IDLE_S} s after a ${IDLE_S} s warm-up`);
    out.idleFirstMinutePct = await cpuOver(router.pid, IDLE_S);
    await sleep(IDLE_S * 1000);
    const w0 = mainThreadWakeups(router.pid);
    const tw = Date.now();
    out.idleWarmPct = await cpuOver(router.pid, IDLE_S);
    out.idleWakesPerS = (mainThreadWakeups(router.pid) - w0) / ((Date.now() - tw) / 1000);
    const wakesPerCall = (w: number, wallS: number, calls: number) => (w - (out.idleWakesPerS ?? 0) * wallS) / calls;
    say(`idle: ${out.idleFirstMinutePct.toFixed(2)}% first, ${out.idleWarmPct.toFixed(2)}% warm`);
    noteLoad('idle: end');

    let offset = 0;
    for (const rate of RATES) {
      for (const side of ['baseline', 'router'] as const) {
        const c0 = cpuSeconds(router.pid);
        const wk0 = mainThreadWakeups(router.pid);
        const s = await T.runStep({ side, rate, stepS: STEP_S, run: 0, offset, dir: work, router, asteriskPid, phone: side === 'router' ? benchPhone : phone1002 });
        const cpuS = cpuSeconds(router.pid) - c0;
        const cpuMsPerCall = ((cpuS - (out.idleWarmPct / 100) * s.wallS) * 1000) / s.calls;
        const wakes = wakesPerCall(mainThreadWakeups(router.pid) - wk0, s.wallS, s.calls);
        out.rates.push({ side, rate, calls: s.calls, correctPct: s.correctPct, answerP50: s.answerP50, answerP95: s.answerP95, routerCpuPct: s.routerCpuPct, cpuMsPerCall, wakesPerCall: wakes, load1: s.load1 });
        say(`${side} ${rate}/s: ${s.correct}/${s.calls} correct, answer p50/p95 ${s.answerP50}/${s.answerP95} ms, router ${s.routerCpuPct.toFixed(1)}% → ${cpuMsPerCall.toFixed(2)} ms CPU per call, load ${s.load1}`);
      }
      offset += rate * STEP_S;
    }
    out.rssAfterRatesMb = rssMb(router.pid);
    noteLoad('rates: end');

    {
      say(`one call at a time: ${SEQ_CALLS} routed calls`);
      const lines = Array.from({ length: SEQ_CALLS }, (_, i) => ({ caller: T.routerCaller(1, i), did: '100', talkMs: 200, gapMs: 300 }));
      const c0 = cpuSeconds(router.pid);
      const wk0 = mainThreadWakeups(router.pid);
      const t0 = Date.now();
      const res = await runCallers(lines, work, { rate: 10, limit: 1, timeoutS: SEQ_CALLS * 5 + 30 });
      await sleep(1000);
      const wallS = (Date.now() - t0) / 1000;
      const cpuS = cpuSeconds(router.pid) - c0;
      const answers = [...res.answers].map(([caller, t]) => t - (res.starts.get(caller) ?? t));
      out.sequential = { calls: SEQ_CALLS, ok: res.ok.length, cpuMsPerCall: ((cpuS - (out.idleWarmPct / 100) * wallS) * 1000) / SEQ_CALLS, answerP50: percentile(answers, 50), wakesPerCall: wakesPerCall(mainThreadWakeups(router.pid) - wk0, wallS, SEQ_CALLS) };
      say(`one at a time: ${res.ok.length}/${SEQ_CALLS} ok, ${out.sequential.cpuMsPerCall.toFixed(2)} ms CPU per call`);
    }

    {
      say(`soak: ${SOAK_S} s at ${SOAK_RATE} routed calls/s, RSS every 10 s`);
      noteLoad('soak: start');
      const t0 = Date.now();
      out.soak.samples.push({ t: 0, rssMb: rssMb(router.pid) });
      const sampler = setInterval(() => out.soak.samples.push({ t: (Date.now() - t0) / 1000, rssMb: rssMb(router.pid) }), 10_000);
      try {
        const s = await T.runStep({ side: 'router', rate: SOAK_RATE, stepS: SOAK_S, run: 0, offset, dir: work, router, asteriskPid, phone: benchPhone });
        out.soak.calls = s.calls;
        out.soak.correctPct = s.correctPct;
      } finally {
        clearInterval(sampler);
      }
      out.soak.samples.push({ t: (Date.now() - t0) / 1000, rssMb: rssMb(router.pid) });
      noteLoad('soak: end');
    }
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((err: Error) => say(`cleanup: ${err.message}`));
    if (h.started) await stopHarness();
  }
  return out;
}
