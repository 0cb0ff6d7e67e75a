// What the router's memory is made of under routed calls: starts the harness and the
// built router with the memory probe (lib/mem-probe-hook.mjs), takes a probe after start,
// then after each step of MEM_STEPS ("rate:seconds,…", default 20:60,20:60) of routed
// calls (DID 100, journal hits, every caller unique, as the cost bench's soak), and RSS
// from /proc every 10 s. A probe records memory as found (RSS, RssAnon/RssFile, V8's
// spaces, glibc's malloc heap: main arena and thread arenas), then, with --expose-gc,
// after a forced full GC: what is retained versus what V8 has not collected yet.
//   MEM_ROUTER_ENV="K=V …"  extra environment for the router (MALLOC_ARENA_MAX, GLIBC_TUNABLES);
//                           it overrides the VAR=value pairs of the bin's shebang
//   MEM_NODE_OPTIONS        adds node flags through NODE_OPTIONS (the bin's shebang flags,
//                           given on the command line, win over the same flag there)
//   MEM_FORCE_GC=0          no --expose-gc, no forced GC: the router's memory as it runs (soaks)
//   MEM_PROBE_EVERY_S=60    also a probe every N seconds, one line each (a soak minute by minute)
//   MEM_SNAPSHOT=1          a heap snapshot per probe
// The routing window covers the whole run (the history is written 10 min before start).
//   test/harness/netns-run.sh <ns> npx tsx test/bench/mem-calls.ts <out-dir>
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Journal } from '../../src/cdr/journal.js';
import { hangupAllChannels, waitEndpointState } from '../support/harness.js';
import { startPhone, type AgentPhone } from '../support/sipp.js';
import { addBenchAgents, cpuSeconds, ensureHarness, removeBenchAgents, rssMb, runningPid, stopHarness } from './lib/pbx.js';
import { startBenchRouter } from './lib/router.js';
import * as T from './stages/throughput.js';

const env = process.env;
const outDir = resolve(process.argv[2] ?? 'mem-profile');
const steps = (env.MEM_STEPS ?? '20:60,20:60').split(',').map((s) => s.split(':').map(Number) as [number, number]);
const routerEnv = Object.fromEntries((env.MEM_ROUTER_ENV ?? '').split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const forceGc = env.MEM_FORCE_GC !== '0';
const probeEveryS = Number(env.MEM_PROBE_EVERY_S ?? 0);
const say = (m: string) => process.stderr.write(`mem: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Native { mainArena: number; threadArenas: number; threadArenasRss: number; glibcTotal: number; v8Committed: number; otherAnon: number }
interface Sample { rss: number; heapTotal: number; heapUsed: number; native?: Native; status?: { RssAnon?: number; RssFile?: number } }
interface Probe { t: number; gcMs: Record<string, number>; before: Sample; afterGc?: Sample }

mkdirSync(outDir, { recursive: true });
const h = await ensureHarness();
if ('unsupported' in h) throw new Error(h.unsupported);
const work = mkdtempSync(join(tmpdir(), 'sticky-mem-'));
const phones: AgentPhone[] = [];
try {
  await hangupAllChannels();
  const dataDir = join(work, 'data');
  const total = steps.reduce((a, [r, s]) => a + r * s, 0);
  const totalS = steps.reduce((a, [, s]) => a + s, 0);
  const j = new Journal(dataDir);
  j.appendMany(T.throughputHistory(1, total));
  j.close();
  addBenchAgents(T.BENCH_AGENT_FIRST, T.BENCH_AGENTS, T.BENCH_AGENT_PORT);
  for (const port of [5071, 5072, 5073, T.BENCH_AGENT_PORT]) phones.push(await startPhone(port, work));
  await waitEndpointState('1002', 'online', 20_000);
  const benchPhone = phones[3]!;
  const hook = join(import.meta.dirname, 'lib', 'mem-probe-hook.mjs');
  // As cost/measure.ts: the history ends 10 min before start, so a window of 30 min alone would
  // turn every call after the 18th minute into no_history.
  const windowMin = Math.max(30, 10 + Math.ceil((totalS + 900) / 60));
  const router = await startBenchRouter(
    {
      DATA_DIR: dataDir,
      STICKY_WINDOW: `PT${windowMin}M`,
      ...routerEnv,
      NODE_OPTIONS: `${forceGc ? '--expose-gc ' : ''}--import ${hook} ${env.MEM_NODE_OPTIONS ?? ''}`.trim(),
      BENCH_MEM_DIR: outDir,
      ...(env.MEM_SNAPSHOT === '1' ? { BENCH_MEM_SNAPSHOT: '1' } : {}),
    },
    join(work, 'router.log'),
  );
  say(`router pid ${router.pid}, env ${JSON.stringify(routerEnv)}, forced GC ${forceGc ? 'on' : 'off'}, ${total} calls`);
  const t0 = Date.now();
  const rss: string[] = [];
  const sampler = setInterval(() => rss.push(`${Math.round((Date.now() - t0) / 1000)}s ${rssMb(router.pid).toFixed(0)}`), 10_000);
  const file = join(outDir, `mem-${router.pid}.jsonl`);
  const probes: (Probe & { label: string; calls: number })[] = [];
  let calls = 0;
  // One probe at a time: the periodic one and a step's one both signal and read the last line.
  let busy: Promise<unknown> = Promise.resolve();
  const probe = (label: string, verbose = true): Promise<void> => {
    const run = busy.then(async () => {
      const n0 = probes.length;
      process.kill(router.pid, 'SIGUSR2');
      await sleep(env.MEM_SNAPSHOT === '1' ? 15_000 : 1500);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      if (lines.length <= n0) {
        say(`${label}: no probe line`);
        return;
      }
      const last = JSON.parse(lines.at(-1)!) as Probe;
      probes.push({ ...last, label, calls });
      const n = last.before.native;
      const t = Math.round((last.t - t0) / 1000);
      say(`${label} (${t} s, ${calls} calls): RSS ${last.before.rss} RssAnon ${last.before.status?.RssAnon} RssFile ${last.before.status?.RssFile}; glibc heap ${n?.glibcTotal} (main ${n?.mainArena}, ${n?.threadArenas} thread arenas ${n?.threadArenasRss}); V8 committed ${n?.v8Committed} used ${last.before.heapUsed}; other anon ${n?.otherAnon}`);
      if (verbose && last.afterGc) say(`${label}: after a forced GC rss ${last.afterGc.rss} heapTotal ${last.afterGc.heapTotal} heapUsed ${last.afterGc.heapUsed}; GC so far ${Object.entries(last.gcMs).map(([k, v]) => `${k} ${Math.round(v)}`).join(' ')}`);
    });
    busy = run.catch(() => undefined);
    return run;
  };
  const periodic = probeEveryS > 0 ? setInterval(() => void probe('periodic', false), probeEveryS * 1000) : undefined;
  const stepsOut: { rate: number; seconds: number; calls: number; correct: number; cpuMsPerCall: number }[] = [];
  try {
    await sleep(10_000);
    await probe('after start');
    let offset = 0;
    for (const [rate, seconds] of steps) {
      const c0 = cpuSeconds(router.pid);
      const s = await T.runStep({ side: 'router', rate, stepS: seconds, run: 0, offset, dir: work, router, asteriskPid: runningPid()!, phone: benchPhone });
      offset += rate * seconds;
      calls = offset;
      const cpuMsPerCall = ((cpuSeconds(router.pid) - c0) * 1000) / s.calls;
      stepsOut.push({ rate, seconds, calls: s.calls, correct: s.correct, cpuMsPerCall });
      say(`${rate}/s × ${seconds} s: ${s.correct}/${s.calls} correct, router CPU ${cpuMsPerCall.toFixed(2)} ms per call (idle not subtracted), RSS ${rssMb(router.pid).toFixed(0)} MB`);
      await probe(`after ${offset} calls`);
    }
  } finally {
    clearInterval(sampler);
    if (periodic) clearInterval(periodic);
    await busy;
    say(`RSS every 10 s (MB): ${rss.join(', ')}`);
    const gc = (p: Probe) => (p.gcMs.minor ?? 0) + (p.gcMs.major ?? 0) + (p.gcMs.incremental ?? 0);
    const first = probes[0];
    const last = probes.at(-1);
    // Forced GCs (two per probe with --expose-gc) count as major: compare runs with the same probes.
    const gcMsPerCall = first && last && last.calls > 0 ? (gc(last) - gc(first)) / last.calls : NaN;
    say(`summary: RSS ${first?.before.rss} → ${last?.before.rss} MB, glibc heap ${first?.before.native?.glibcTotal} → ${last?.before.native?.glibcTotal} MB, GC pause ${gcMsPerCall.toFixed(3)} ms per call, router CPU ${stepsOut.map((s) => s.cpuMsPerCall.toFixed(2)).join(' / ')} ms per call`);
    writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify({ routerEnv, forceGc, steps: stepsOut, gcMsPerCall, probes: probes.map((p) => ({ label: p.label, calls: p.calls, t: Math.round((p.t - t0) / 1000), rss: p.before.rss, rssAnon: p.before.status?.RssAnon, rssFile: p.before.status?.RssFile, heapUsed: p.before.heapUsed, native: p.before.native })) }, null, 1)}\n`);
    await router.stop();
  }
} finally {
  await Promise.all(phones.map((p) => p.stop()));
  removeBenchAgents();
  if (h.started) await stopHarness();
}
