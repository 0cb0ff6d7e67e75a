// What the router's memory is made of under routed calls: starts the harness and the
// built router with the memory probe (lib/mem-probe-hook.mjs, --expose-gc), takes a
// probe after start, then after each step of MEM_STEPS ("rate:seconds,…", default
// 20:60,20:60) of routed calls (DID 100, journal hits, every caller unique, as the cost
// bench's soak), and RSS from /proc every 10 s. A probe records memory as found, then
// after a forced full GC: what is retained versus what V8 has not collected yet.
// MEM_NODE_OPTIONS adds node flags through NODE_OPTIONS (the bin's shebang flags, given on the
// command line, win over the same flag there); MEM_SNAPSHOT=1 writes
// a heap snapshot per probe.
//   test/harness/netns-run.sh <ns> npx tsx test/bench/mem-calls.ts <out-dir>
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Journal } from '../../src/cdr/journal.js';
import { hangupAllChannels, waitEndpointState } from '../support/harness.js';
import { startPhone, type AgentPhone } from '../support/sipp.js';
import { addBenchAgents, cpuSeconds, ensureHarness, removeBenchAgents, rssMb, runningPid, stopHarness } from './lib/pbx.js';
import { startBenchRouter } from './lib/router.js';
import * as T from './stages/throughput.js';

const outDir = resolve(process.argv[2] ?? 'mem-profile');
const steps = (process.env.MEM_STEPS ?? '20:60,20:60').split(',').map((s) => s.split(':').map(Number) as [number, number]);
const say = (m: string) => process.stderr.write(`mem: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

mkdirSync(outDir, { recursive: true });
const h = await ensureHarness();
if ('unsupported' in h) throw new Error(h.unsupported);
const work = mkdtempSync(join(tmpdir(), 'sticky-mem-'));
const phones: AgentPhone[] = [];
try {
  await hangupAllChannels();
  const dataDir = join(work, 'data');
  const total = steps.reduce((a, [r, s]) => a + r * s, 0);
  const j = new Journal(dataDir);
  j.appendMany(T.throughputHistory(1, total));
  j.close();
  addBenchAgents(T.BENCH_AGENT_FIRST, T.BENCH_AGENTS, T.BENCH_AGENT_PORT);
  for (const port of [5071, 5072, 5073, T.BENCH_AGENT_PORT]) phones.push(await startPhone(port, work));
  await waitEndpointState('1002', 'online', 20_000);
  const benchPhone = phones[3]!;
  const hook = join(import.meta.dirname, 'lib', 'mem-probe-hook.mjs');
  const router = await startBenchRouter(
    { DATA_DIR: dataDir, NODE_OPTIONS: `--expose-gc --import ${hook} ${process.env.MEM_NODE_OPTIONS ?? ''}`.trim(), BENCH_MEM_DIR: outDir, ...(process.env.MEM_SNAPSHOT === '1' ? { BENCH_MEM_SNAPSHOT: '1' } : {}) },
    join(work, 'router.log'),
  );
  const t0 = Date.now();
  const rss: string[] = [];
  const sampler = setInterval(() => rss.push(`${Math.round((Date.now() - t0) / 1000)}s ${rssMb(router.pid).toFixed(0)}`), 10_000);
  const file = join(outDir, `mem-${router.pid}.jsonl`);
  const probe = async (label: string) => {
    process.kill(router.pid, 'SIGUSR2');
    await sleep(process.env.MEM_SNAPSHOT === '1' ? 15_000 : 1500);
    const last = JSON.parse(readFileSync(file, 'utf8').trim().split('\n').pop()!) as { gcMs: Record<string, number>; before: { rss: number; heapTotal: number; heapUsed: number }; afterGc?: { rss: number; heapTotal: number; heapUsed: number } };
    say(`${label}: rss ${last.before.rss} heapTotal ${last.before.heapTotal} heapUsed ${last.before.heapUsed}; after GC rss ${last.afterGc?.rss} heapTotal ${last.afterGc?.heapTotal} heapUsed ${last.afterGc?.heapUsed}; GC so far ${Object.entries(last.gcMs).map(([k, v]) => `${k} ${Math.round(v)}`).join(' ')}`);
  };
  try {
    await sleep(10_000);
    await probe('after start');
    let offset = 0;
    for (const [rate, seconds] of steps) {
      const c0 = cpuSeconds(router.pid);
      const s = await T.runStep({ side: 'router', rate, stepS: seconds, run: 0, offset, dir: work, router, asteriskPid: runningPid()!, phone: benchPhone });
      offset += rate * seconds;
      say(`${rate}/s × ${seconds} s: ${s.correct}/${s.calls} correct, router CPU ${(((cpuSeconds(router.pid) - c0) * 1000) / s.calls).toFixed(2)} ms per call (idle not subtracted), RSS ${rssMb(router.pid).toFixed(0)} MB`);
      await probe(`after ${offset} calls`);
    }
  } finally {
    clearInterval(sampler);
    say(`RSS every 10 s (MB): ${rss.join(', ')}`);
    await router.stop();
  }
} finally {
  await Promise.all(phones.map((p) => p.stop()));
  removeBenchAgents();
  if (h.started) await stopHarness();
}
