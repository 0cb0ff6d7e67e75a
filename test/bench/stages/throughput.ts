// Stage 3: sustained call rate with 1 s calls, router versus DID 999's plain Dial.
//
// Per step, one sipp customer process places RATE calls/s for STEP_S seconds
// (-r RATE -m RATE*STEP_S), each call talking 1 s. Baseline: callers with no history
// dial 999 → Dial(PJSIP/1002) (one sipp UAS on 5072 answers them all). Router: every
// caller has a history in the journal naming one of 1000 bench agents (7000-7999,
// all contacts on one sipp UAS on 5074, no ring delay), so each call is a journal (or
// memory) hit followed by a sticky Dial. Agents rotate, so an agent's previous call
// has ended (~2.5 s earlier at 400/s) when its next caller arrives: the router treats
// an agent on a call as busy, and with only 1001-1003 almost every call would
// correctly fall back (agent_busy) instead of exercising the sticky path.
//
// A router call is routed correctly when sipp completed it, the decision record says
// action ring to the caller's own agent, and that agent's phone logged the INVITE
// (request-URI user) from that caller. It is recorded correctly when, in addition,
// the record's final reason is sticky_agent with ring outcome answered (the issue's
// full criterion: "decision log reason and the right agent's phone"). A baseline call
// is correct when sipp completed it and 1002's phone logged its INVITE.
import { waitUntil } from '../../support/wait.js';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { DateTime } from 'luxon';
import { historyDoc } from '../../support/history.js';
import { ariGet } from '../../support/harness.js';
import { cpuSeconds } from '../lib/pbx.js';
import type { BenchRouter } from '../lib/router.js';
import { runCallers, type AgentPhone } from '../../support/sipp.js';
import { percentile } from '../lib/stats.js';

export const BENCH_AGENT_FIRST = 7000;
export const BENCH_AGENTS = 1000;
export const BENCH_AGENT_PORT = 5074;
export const TALK_MS = 1000;
/** A step whose calls wait longer than this for their 200 OK (p95) is not keeping up. */
export const MAX_ANSWER_P95_MS = 1000;

export const routerCaller = (run: number, i: number) => `+1310${String(run * 2_000_000 + i).padStart(7, '0')}`;
export const baselineCaller = (run: number, i: number) => `+1415${String(run * 2_000_000 + i).padStart(7, '0')}`;
export const agentFor = (i: number) => String(BENCH_AGENT_FIRST + (i % BENCH_AGENTS));

/** Journal history for every router caller of every run (offsets are per run, across all steps). */
export function throughputHistory(runs: number, callsPerRun: number) {
  const at = DateTime.utc().minus({ minutes: 10 });
  const docs = [];
  for (let r = 0; r < runs; r++) for (let i = 0; i < callsPerRun; i++) docs.push(historyDoc(routerCaller(r, i), agentFor(i), at));
  return docs;
}

/** router: DID 100 through the router; baseline: DID 999 with the router connected; alone: DID 999 with no router running. */
export type Side = 'router' | 'baseline' | 'alone';

export interface StepResult {
  side: Side;
  rate: number;
  calls: number;
  completed: number;
  /** Routed to the right agent's phone (see the header). */
  correct: number;
  correctPct: number;
  /** Routed correctly and the decision record's final reason/outcome right too. */
  recorded: number;
  recordedPct: number;
  /** Calls started per second by sipp over the step (its clock): did the load generator keep up? */
  achievedRate: number;
  /** INVITE sent → 200 OK received, p50 and p95 over the step's answered calls (ms). */
  answerP50: number;
  answerP95: number;
  /** ≥ 99.9% routed correctly and completions kept up with the rate. */
  pass: boolean;
  /** pass, and ≥ 99.9% recorded correctly as well. */
  passStrict: boolean;
  routerCpuPct: number;
  asteriskCpuPct: number;
  /** The whole machine over the step, % of all its cores (/proc/stat): 100 = every core busy. */
  machineBusyPct: number;
  /** CPU of everything but the router and Asterisk (sipp callers and phones, this bench), % of one core. */
  otherCpuPct: number;
  reasons: Record<string, number>;
  /** Answered sticky calls whose decision record has no decideMs. */
  noDecideMs: number;
  wallS: number;
  /** 1-minute load average at the end of the step. */
  load1: number;
}

/** Busy and total jiffies of all cores (/proc/stat's first line). */
function machineJiffies(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

const waitChannelsGone = (timeoutMs: number) => waitUntil(async () => (await ariGet<unknown[]>('/channels').catch(() => [1])).length === 0, timeoutMs, 250);

export async function runStep(o: {
  side: Side;
  rate: number;
  stepS: number;
  run: number;
  offset: number;
  dir: string;
  router: BenchRouter | undefined;
  asteriskPid: number;
  phone: AgentPhone;
}): Promise<StepResult> {
  const n = o.rate * o.stepS;
  const callers = Array.from({ length: n }, (_, j) => (o.side === 'router' ? routerCaller(o.run, o.offset + j) : baselineCaller(o.run, (o.side === 'alone' ? 1_000_000 : 0) + o.offset + j)));
  const lines = callers.map((caller) => ({ caller, did: o.side === 'router' ? '100' : '999', talkMs: TALK_MS, gapMs: 0 }));
  const decisionsBefore = o.router?.decisions.length ?? 0;
  const invitesBefore = o.phone.invitesSoFar().length;
  const c0 = o.router ? cpuSeconds(o.router.pid) : NaN;
  const a0 = cpuSeconds(o.asteriskPid);
  const m0 = machineJiffies();
  const t0 = Date.now();
  const res = await runCallers(lines, o.dir, { rate: o.rate, limit: 20_000, timeoutS: o.stepS + 60 });
  await waitChannelsGone(30_000);
  await new Promise((r) => setTimeout(r, 1000)); // the last decision records and CDRs
  const wallS = (Date.now() - t0) / 1000;
  const routerCpuPct = o.router ? ((cpuSeconds(o.router.pid) - c0) / wallS) * 100 : NaN;
  const asteriskCpuPct = ((cpuSeconds(o.asteriskPid) - a0) / wallS) * 100;
  const m1 = machineJiffies();
  const machineBusyPct = ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100;
  // Jiffies are 1/100 s per core: busy jiffies / wall = % of one core.
  const otherCpuPct = (m1.busy - m0.busy) / wallS - asteriskCpuPct - (Number.isFinite(routerCpuPct) ? routerCpuPct : 0);

  const completed = new Set(res.ok.map((x) => x.caller));
  const invites = new Map<string, string>();
  for (const inv of o.phone.invitesSoFar().slice(invitesBefore)) invites.set(inv.from, inv.ruser);
  const decisions = new Map((o.router?.decisions ?? []).slice(decisionsBefore).map((d) => [d.caller, d]));
  const reasons: Record<string, number> = {};
  let correct = 0;
  let recorded = 0;
  let noDecideMs = 0;
  callers.forEach((caller, j) => {
    const d = decisions.get(caller);
    if (o.side === 'router') {
      const key = d ? `${d.action}:${d.reason}${d.ring ? `/${d.ring}` : ''}` : 'no decision';
      reasons[key] = (reasons[key] ?? 0) + 1;
      const agent = agentFor(o.offset + j);
      if (completed.has(caller) && d?.action === 'ring' && d.agent === agent && invites.get(caller) === agent) {
        correct++;
        if (d.reason === 'sticky_agent' && d.ring === 'answered') recorded++;
        if (d.ring === 'answered' && d.decideMs === undefined) noDecideMs++;
      }
    } else if (completed.has(caller) && invites.get(caller) === '1002') {
      correct++;
      recorded++;
    }
  });
  const starts = [...res.starts.values()].sort((a, b) => a - b);
  const achievedRate = starts.length > 1 ? ((starts.length - 1) / (starts[starts.length - 1]! - starts[0]!)) * 1000 : NaN;
  const answerMs = [...res.answers].map(([caller, t]) => t - (res.starts.get(caller) ?? t));
  const answerP50 = percentile(answerMs, 50);
  const answerP95 = percentile(answerMs, 95);
  const correctPct = (correct / n) * 100;
  const recordedPct = (recorded / n) * 100;
  const pass = correctPct >= 99.9 && achievedRate >= o.rate * 0.95 && answerP95 <= MAX_ANSWER_P95_MS;
  return {
    side: o.side,
    rate: o.rate,
    calls: n,
    completed: completed.size,
    correct,
    correctPct,
    recorded,
    recordedPct,
    achievedRate,
    answerP50,
    answerP95,
    pass,
    passStrict: pass && recordedPct >= 99.9,
    routerCpuPct,
    asteriskCpuPct,
    machineBusyPct,
    otherCpuPct,
    reasons,
    noDecideMs,
    wallS,
    load1: Math.round(loadavg()[0]! * 100) / 100,
  };
}
