// What a call costs Asterisk itself, the PBX's ceiling: Asterisk's CPU per call for
// plain Dial with no router running (alone), plain Dial with the router connected
// (baseline) and routed calls (router), at one rate, interleaved ASTERISK_COST_ROUNDS
// times. The router's own CPU is in cost.ts; this is the share it adds to Asterisk.
//   test/harness/netns-run.sh <ns> npx tsx test/bench/asterisk-cost.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../../src/cdr/journal.js';
import { hangupAllChannels, waitEndpointState } from '../support/harness.js';
import { startPhone, type AgentPhone } from '../support/sipp.js';
import { addBenchAgents, ensureHarness, removeBenchAgents, runningPid, stopHarness } from './lib/pbx.js';
import { startBenchRouter } from './lib/router.js';
import * as T from './stages/throughput.js';

const RATE = Number(process.env.ASTERISK_COST_RATE ?? 50);
const STEP_S = Number(process.env.ASTERISK_COST_STEP_S ?? 10);
const ROUNDS = Number(process.env.ASTERISK_COST_ROUNDS ?? 2);
const say = (m: string) => process.stderr.write(`asterisk-cost: ${m}\n`);

const h = await ensureHarness();
if ('unsupported' in h) throw new Error(h.unsupported);
const work = mkdtempSync(join(tmpdir(), 'sticky-asterisk-cost-'));
const phones: AgentPhone[] = [];
const perCall: Record<T.Side, number[]> = { alone: [], baseline: [], router: [] };
try {
  await hangupAllChannels();
  const dataDir = join(work, 'data');
  const j = new Journal(dataDir);
  j.appendMany(T.throughputHistory(ROUNDS, RATE * STEP_S));
  j.close();
  addBenchAgents(T.BENCH_AGENT_FIRST, T.BENCH_AGENTS, T.BENCH_AGENT_PORT);
  for (const port of [5072, T.BENCH_AGENT_PORT]) phones.push(await startPhone(port, work));
  await waitEndpointState('1002', 'online', 20_000);
  const [phone1002, benchPhone] = phones as [AgentPhone, AgentPhone];
  const asteriskPid = runningPid()!;
  for (let r = 0; r < ROUNDS; r++) {
    const alone = await T.runStep({ side: 'alone', rate: RATE, stepS: STEP_S, run: r, offset: 0, dir: work, router: undefined, asteriskPid, phone: phone1002 });
    perCall.alone.push((alone.asteriskCpuPct / 100) * alone.wallS * 1000 / alone.calls);
    const router = await startBenchRouter({ DATA_DIR: dataDir }, join(work, `router-${r}.log`));
    try {
      for (const side of ['baseline', 'router'] as const) {
        const s = await T.runStep({ side, rate: RATE, stepS: STEP_S, run: r, offset: 0, dir: work, router, asteriskPid, phone: side === 'router' ? benchPhone : phone1002 });
        perCall[side].push((s.asteriskCpuPct / 100) * s.wallS * 1000 / s.calls);
        say(`round ${r + 1} ${side}: ${s.correct}/${s.calls} correct, Asterisk ${perCall[side].at(-1)!.toFixed(2)} ms CPU per call, router ${((s.routerCpuPct / 100) * s.wallS * 1000 / s.calls).toFixed(2)} ms, machine ${s.machineBusyPct.toFixed(0)}% busy`);
      }
    } finally {
      await router.stop();
    }
    say(`round ${r + 1} alone: Asterisk ${perCall.alone.at(-1)!.toFixed(2)} ms CPU per call`);
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  say(`medians, Asterisk CPU per call at ${RATE}/s: alone ${med(perCall.alone).toFixed(2)} ms, baseline (router connected) ${med(perCall.baseline).toFixed(2)} ms, routed ${med(perCall.router).toFixed(2)} ms`);
  process.stdout.write(`${JSON.stringify({ rate: RATE, stepS: STEP_S, perCall })}\n`);
} finally {
  await Promise.all(phones.map((p) => p.stop()));
  removeBenchAgents();
  if (h.started) await stopHarness();
}
