// What a call costs Asterisk itself, the PBX's ceiling: Asterisk's CPU per call for
// plain Dial with no router running (alone), plain Dial with the router connected
// (baseline), routed calls (router) and routed calls with the dialplan global
// VOICE_QUALITY=off (no [sticky-qos] hangup handlers), and calls through a minimal Stasis
// app in the router's place (StasisStart → one continue to the same [sticky-ring] target:
// the floor of any Stasis app in this dialplan), at one rate, interleaved
// ASTERISK_COST_ROUNDS times. The router's own CPU is in cost.ts; this is the share it adds to Asterisk.
// Writes its section of RESULTS.md (between its markers; npm run bench runs it last).
//   test/harness/netns-run.sh <ns> npx tsx test/bench/asterisk-cost.ts
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Journal } from '../../src/cdr/journal.js';
import { hangupAllChannels, waitEndpointState } from '../support/harness.js';
import { startPhone, type AgentPhone } from '../support/sipp.js';
import { addBenchAgents, cli, ensureHarness, removeBenchAgents, runningPid, stopHarness } from './lib/pbx.js';
import { startBenchRouter } from './lib/router.js';
import { startMinimalApp } from './lib/minimal-app.js';
import { harnessEnv } from '../harness/credentials.js';
import * as T from './stages/throughput.js';

const RATE = Number(process.env.ASTERISK_COST_RATE ?? 50);
const STEP_S = Number(process.env.ASTERISK_COST_STEP_S ?? 10);
const ROUNDS = Number(process.env.ASTERISK_COST_ROUNDS ?? 2);
const say = (m: string) => process.stderr.write(`asterisk-cost: ${m}\n`);

const h = await ensureHarness();
if ('unsupported' in h) throw new Error(h.unsupported);
const work = mkdtempSync(join(tmpdir(), 'sticky-asterisk-cost-'));
const phones: AgentPhone[] = [];
type Row = T.Side | 'noQuality' | 'minimal';
const perCall: Record<Row, number[]> = { alone: [], baseline: [], router: [], noQuality: [], minimal: [] };
const routerPerCall: Record<Row, number[]> = { alone: [], baseline: [], router: [], noQuality: [], minimal: [] };
const loads: string[] = [`start ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`];
try {
  await hangupAllChannels();
  const dataDir = join(work, 'data');
  const j = new Journal(dataDir);
  // Per round: the routed step's callers, then the VOICE_QUALITY=off step's.
  j.appendMany(T.throughputHistory(ROUNDS, 2 * RATE * STEP_S));
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
      for (const row of ['baseline', 'router', 'noQuality'] as const) {
        const side = row === 'noQuality' ? 'router' : row;
        if (row === 'noQuality') cli('dialplan set global VOICE_QUALITY off');
        try {
          const s = await T.runStep({ side, rate: RATE, stepS: STEP_S, run: r, offset: row === 'noQuality' ? RATE * STEP_S : 0, dir: work, router, asteriskPid, phone: side === 'router' ? benchPhone : phone1002 });
          perCall[row].push((s.asteriskCpuPct / 100) * s.wallS * 1000 / s.calls);
          routerPerCall[row].push((s.routerCpuPct / 100) * s.wallS * 1000 / s.calls);
          say(`round ${r + 1} ${row}: ${s.correct}/${s.calls} correct, Asterisk ${perCall[row].at(-1)!.toFixed(2)} ms CPU per call, router ${((s.routerCpuPct / 100) * s.wallS * 1000 / s.calls).toFixed(2)} ms, machine ${s.machineBusyPct.toFixed(0)}% busy`);
        } finally {
          if (row === 'noQuality') cli('dialplan set global VOICE_QUALITY on');
        }
      }
    } finally {
      await router.stop();
    }
    say(`round ${r + 1} alone: Asterisk ${perCall.alone.at(-1)!.toFixed(2)} ms CPU per call`);
    {
      // The minimal app sends every call to agent 1002 (phone 5072): calls complete, "correct" does not apply.
      const appName = `cost-minimal-${process.pid}-${r}`;
      const minimal = await startMinimalApp({ appName });
      cli(`dialplan set global STICKY_APP ${appName}`);
      try {
        const s = await T.runStep({ side: 'router', rate: RATE, stepS: STEP_S, run: r, offset: 2 * RATE * STEP_S, dir: work, router: undefined, asteriskPid, phone: phone1002 });
        perCall.minimal.push((s.asteriskCpuPct / 100) * s.wallS * 1000 / s.calls);
        say(`round ${r + 1} minimal Stasis app: ${s.completed}/${s.calls} completed, Asterisk ${perCall.minimal.at(-1)!.toFixed(2)} ms CPU per call`);
      } finally {
        cli(`dialplan set global STICKY_APP ${harnessEnv.ARI_APP}`);
        await minimal.stop();
      }
    }
  }
  loads.push(`end ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
  // The median; of an even count (2 rounds by default) the mean of the middle two, not the larger.
  const med = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  say(`medians, Asterisk CPU per call at ${RATE}/s: alone ${med(perCall.alone).toFixed(2)} ms, baseline (router connected) ${med(perCall.baseline).toFixed(2)} ms, routed ${med(perCall.router).toFixed(2)} ms, routed with VOICE_QUALITY=off ${med(perCall.noQuality).toFixed(2)} ms, minimal Stasis app ${med(perCall.minimal).toFixed(2)} ms`);
  process.stdout.write(`${JSON.stringify({ rate: RATE, stepS: STEP_S, perCall, routerPerCall })}\n`);
  writeSection(med);
} finally {
  await Promise.all(phones.map((p) => p.stop()));
  removeBenchAgents();
  if (h.started) await stopHarness();
}

function writeSection(med: (v: number[]) => number): void {
  const file = resolve(import.meta.dirname, 'RESULTS.md');
  const BEGIN = '<!-- asterisk-cost.ts: begin -->';
  const END = '<!-- asterisk-cost.ts: end -->';
  const f = (v: number[]) => `${med(v).toFixed(2)} ms (${v.map((x) => x.toFixed(2)).join(', ')})`;
  const alone = med(perCall.alone);
  const routed = med(perCall.router) + med(routerPerCall.router);
  const lines = [
    BEGIN,
    '## 7. What a call costs Asterisk (the PBX\'s ceiling)',
    '',
    `Generated by test/bench/asterisk-cost.ts on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; load average (1, 5, 15 min): ${loads.join('; ')}. Asterisk's own CPU (utime+stime of its process) per call at ${RATE} calls/s, ${STEP_S} s steps of 1 s calls, ${ROUNDS} rounds interleaved, medians (each round in brackets). Same callers, agents and phones as section 3.`,
    '',
    '| side | Asterisk CPU per call | router CPU per call |',
    '|---|---|---|',
    `| plain Dial (DID 999), no router running | ${f(perCall.alone)} | - |`,
    `| plain Dial (DID 999), router connected | ${f(perCall.baseline)} | ${f(routerPerCall.baseline)} |`,
    `| routed (DID 100: Stasis, lookup, continue, [sticky-ring]) | ${f(perCall.router)} | ${f(routerPerCall.router)} |`,
    `| routed, dialplan global VOICE_QUALITY=off (no [sticky-qos] hangup handlers) | ${f(perCall.noQuality)} | ${f(routerPerCall.noQuality)} |`,
    `| DID 100 through a minimal Stasis app in the router's place (StasisStart → one continue to [sticky-ring], test/bench/lib/minimal-app.ts; router stopped) | ${f(perCall.minimal)} | - |`,
    '',
    `The [sticky-qos] hangup handlers (voice quality, README "Voice quality in the CDR") cost Asterisk ${(med(perCall.router) - med(perCall.noQuality)).toFixed(2)} ms per routed call here: the difference of the two routed rows.`,
    '',
    `Any Stasis app in this dialplan costs Asterisk ${(med(perCall.minimal) - med(perCall.alone)).toFixed(2)} ms per call over plain Dial with no router (the minimal row minus the first): Stasis, the continue and the [sticky-*] priorities. Even a router that cost nothing could not take routed calls above ${((med(perCall.alone) / med(perCall.minimal)) * 100).toFixed(0)} % of plain Dial's rate where Asterisk's CPU is the ceiling. The router's sessions and requests add ${(med(perCall.router) - med(perCall.minimal)).toFixed(2)} ms to Asterisk on top (routed minus minimal).`,
    '',
    `A routed call costs the machine ${routed.toFixed(2)} ms of CPU (Asterisk + router) against ${alone.toFixed(2)} ms for plain Dial: ×${(routed / alone).toFixed(2)}. Where the PBX's ceiling is CPU (section 3), that ratio, not the router's own CPU alone, sets how far routed calls can follow plain ones. Beyond the voice-quality handlers, what Asterisk's extra share is made of (the Stasis round trip, the other [sticky-*] priorities, the router's AMI and ARI sessions) this measurement does not split; the router's share is its own process.`,
    END,
  ];
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const a = current.indexOf(BEGIN);
  const b = current.indexOf(END);
  const section = lines.join('\n');
  writeFileSync(file, a >= 0 && b > a ? `${current.slice(0, a)}${section}${current.slice(b + END.length)}` : `${current.trimEnd()}\n\n${section}\n`);
  say(`wrote ${file}`);
}
