// npm run bench: what the router costs a call, side by side with plain dialplan, on
// the real PBX harness (Asterisk 22 in a chroot, sipp peers), plus the CDR ingest and
// journal lookup in-process. Prints a table and writes test/bench/RESULTS.md with the
// figures of this run (medians of BENCH_RUNS ≥ 3 runs) and the machine they came from.
//
// Not part of `npm test`. Run it on a harness of your own when others share the
// machine, e.g. `test/harness/netns-run.sh me npm run bench`. It starts the harness
// if it is not running (and stops it again at the end), and only ever stops the
// processes it started itself.
//
// Knobs (environment): BENCH_RUNS (3), BENCH_CALLS (20 sequential calls per side per
// run), BENCH_RATES (50,100,150,200,250,300,400), BENCH_STEP_S (10), BENCH_INGEST_EVENTS
// (20000), BENCH_JOURNAL_ROWS (1000000), BENCH_STAGES (setup,throughput,ingest,lookup),
// BENCH_KEEP=1 (keep the work directory: router logs, sipp traces and logs).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { Journal } from '../../src/cdr/journal.js';
import { amiSessionFilters, passesAmiFilters } from '../../src/ami/filter.js';
import { routerAmiConsumers } from '../../src/ami/consumers.js';
import { ElasticsearchSource } from '../../src/routing/sources/elasticsearch.js';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { hangupAllChannels, waitChannelsGone, waitEndpointState } from '../support/harness.js';
import { startEsDoubleProcess, type EsDoubleProcess } from './lib/es-double-proc.js';
import { addBenchAgents, asteriskVersion, cli, ensureHarness, removeBenchAgents, runningPid, stopHarness, rssMb } from './lib/pbx.js';
import { harnessEnv } from '../harness/credentials.js';
import { routerFrom, startBenchRouter, type BenchRouter, type DecisionLine } from './lib/router.js';
import { startPhone, type AgentPhone, type SipMessage } from '../support/sipp.js';
import { startMinimalApp } from './lib/minimal-app.js';
import { fmt, median, percentile } from './lib/stats.js';
import * as S from './stages/setup.js';
import * as T from './stages/throughput.js';
import type { BenchResults, IngestOut, LookupOut, PreDialSide, SetupStats } from './results.js';
import { renderResults } from './render.js';

const env = process.env;
const RUNS = Number(env.BENCH_RUNS ?? 3); // the issue asks for medians of at least 3 runs: fewer only for trying the bench out
const CALLS = Number(env.BENCH_CALLS ?? 20);
const RATES = (env.BENCH_RATES ?? '50,100,150,200,250,300,400').split(',').map(Number);
const STEP_S = Number(env.BENCH_STEP_S ?? 10);
const STAGES = new Set((env.BENCH_STAGES ?? 'setup,throughput,ingest,lookup').split(','));
const here = import.meta.dirname;
const resultsFile = resolve(here, 'RESULTS.md');
const work = mkdtempSync(join(tmpdir(), 'sticky-bench-'));
const say = (m: string) => process.stderr.write(`bench: ${m}\n`);
const started = Date.now();

// ---------------------------------------------------------------- the machine
const cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
const memGb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1048576;
const sippVersion = (spawnSync('sipp', ['-v'], { encoding: 'utf8' }).stdout ?? '').match(/SIPp v[\d.]+/)?.[0] ?? 'sipp (version unknown)';
const loads: { stage: string; load: number[] }[] = [];
/** The product code this run measured (the tree may change between runs): sha256 over src/**. */
const srcFingerprint = (() => {
  const h = createHash('sha256');
  const root = resolve(here, '..', '..', 'src');
  const files = (readdirSync(root, { recursive: true }) as string[]).map(String).filter((f) => f.endsWith('.ts')).sort();
  for (const f of files) h.update(f).update(readFileSync(join(root, f)));
  return `${h.digest('hex').slice(0, 12)} (${files.length} files)`;
})();
const noteLoad = (stage: string) => loads.push({ stage, load: loadavg().map((x) => Math.round(x * 100) / 100) });
noteLoad('start');

// ---------------------------------------------------------------- results (rendered by render.ts)
let setup: SetupStats | undefined;
let throughput: BenchResults['throughput'];
let ingest: IngestOut | undefined;
let lookup: LookupOut | undefined;
let asteriskVer = 'not run';
const skipped: string[] = [];

// ---------------------------------------------------------------- PBX stages
async function pbxStages(): Promise<void> {
  const h = await ensureHarness();
  if ('unsupported' in h) {
    skipped.push(`call stages (1-3): the harness cannot run here: ${h.unsupported}`);
    return;
  }
  const startedHarness = h.started;
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    asteriskVer = asteriskVersion();
    await hangupAllChannels();
    const asteriskPid = runningPid()!;
    const dataDir = join(work, 'data-journal');
    const callsPerThroughputRun = RATES.reduce((a, r) => a + r * STEP_S, 0);
    {
      // Journal-only mode: history written with the product's Journal before the router starts.
      const j = new Journal(dataDir);
      j.appendMany(S.journalHistory(RUNS, CALLS));
      if (STAGES.has('throughput')) j.appendMany(T.throughputHistory(RUNS, callsPerThroughputRun));
      j.close();
    }
    if (STAGES.has('setup')) await setupStage(dataDir, cleanups);
    if (STAGES.has('throughput')) await throughputStage(dataDir, asteriskPid, cleanups);
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((err: Error) => say(`cleanup: ${err.message}`));
    if (startedHarness) await stopHarness();
  }
}

async function setupStage(dataDir: string, cleanups: (() => Promise<void> | void)[]): Promise<void> {
  noteLoad('call set-up: start');
  say(`stage 1+2: call set-up, ${RUNS} runs × ${CALLS} calls per side, interleaved`);
  const anomalies: string[] = [];
  const ami: AmiWatch = await watchAmi();
  cleanups.push(() => ami.stop());
  const phone: AgentPhone = await startPhone(5072, work, { trace: true });
  cleanups.push(async () => void (await phone.stop()));
  await waitEndpointState('1002', 'online', 20_000);

  // Router A: journal-only (no ES_NODE). Journal hits, then memory hits.
  let router: BenchRouter = await startBenchRouter({ DATA_DIR: dataDir }, join(work, 'router-journal.log'));
  const uacByRun: SipMessage[][] = [];
  for (let r = 0; r < RUNS; r++) {
    const res = await S.runSequence(S.journalMemoryLines(r, CALLS), work);
    if (res.failed > 0) anomalies.push(`run ${r + 1}: ${res.failed} of ${CALLS * 3} journal/memory/baseline calls failed in sipp`);
    uacByRun.push(res.uac);
    say(`  run ${r + 1}/${RUNS}: journal/memory/baseline sequence done (${res.ok} calls completed)`);
  }
  await router.stop();
  const journalDecisions = [...router.decisions];

  // Controls: a minimal ARI app (one continue, nothing else) in the router's place,
  // without and with the router's endpoint:PJSIP subscription.
  const uacMinByRun: SipMessage[][] = [];
  const uacMinSubByRun: SipMessage[][] = [];
  const minContinueByRun: number[][] = [];
  const wsPerCall = { plain: {} as Record<string, number>, subscribed: {} as Record<string, number> };
  // [sticky-inbound] runs Stasis(${STICKY_APP}): point the global at the control app for its calls.
  const restoreApp = () => void cli(`dialplan set global STICKY_APP ${harnessEnv.ARI_APP}`);
  cleanups.push(restoreApp);
  for (let r = 0; r < RUNS; r++) {
    for (const subscribed of [false, true]) {
      const appName = `bench-minimal-${subscribed ? 'sub-' : ''}${process.pid}-${r}`;
      const minimal = await startMinimalApp({ appName, subscribeEndpoints: subscribed });
      cli(`dialplan set global STICKY_APP ${appName}`);
      const res = await S.runSequence(S.minimalLines(r, CALLS, subscribed), work);
      restoreApp();
      await minimal.stop();
      if (res.failed > 0) anomalies.push(`run ${r + 1}: ${res.failed} of ${CALLS * 2} minimal-app/baseline calls failed in sipp`);
      (subscribed ? uacMinSubByRun : uacMinByRun).push(res.uac);
      if (!subscribed) minContinueByRun.push(minimal.continueMs);
      const into = subscribed ? wsPerCall.subscribed : wsPerCall.plain;
      // Per routed call: every second call of the sequence went through Stasis.
      for (const [k, v] of Object.entries(minimal.wsEvents)) into[k] = (into[k] ?? 0) + v / (CALLS * RUNS);
      say(`  run ${r + 1}/${RUNS}: minimal-app${subscribed ? ' + endpoint:PJSIP' : ''}/baseline sequence done (${res.ok} calls completed)`);
    }
  }

  // Router B: Elasticsearch (the double, in its own process) seeded before the router starts: memory is empty.
  const es: EsDoubleProcess = await startEsDoubleProcess();
  cleanups.push(() => es.stop());
  const prefix = `bench-${Date.now()}`;
  await S.seedEsHistory(es.url, prefix, RUNS, CALLS);
  const esDoubleMs = await probeEsDouble(es.url, prefix);
  router = await startBenchRouter({ DATA_DIR: join(work, 'data-es'), ES_NODE: es.url, ES_INDEX_PREFIX: prefix }, join(work, 'router-es.log'));
  const uacEsByRun: SipMessage[][] = [];
  for (let r = 0; r < RUNS; r++) {
    const res = await S.runSequence(S.esLines(r, CALLS), work);
    if (res.failed > 0) anomalies.push(`run ${r + 1}: ${res.failed} of ${CALLS * 2} ES/baseline calls failed in sipp`);
    uacEsByRun.push(res.uac);
    say(`  run ${r + 1}/${RUNS}: elasticsearch/baseline sequence done (${res.ok} calls completed)`);
  }
  await router.stop();
  const esDecisions = [...router.decisions];
  await es.stop();
  await waitChannelsGone(10_000).catch(() => undefined);
  const { messages } = await phone.stop();

  const byCaller = (ds: DecisionLine[]) => {
    const m = new Map<string, DecisionLine[]>();
    for (const d of ds) (m.get(d.caller) ?? m.set(d.caller, []).get(d.caller)!).push(d);
    return m;
  };
  const jd = byCaller(journalDecisions);
  const ed = byCaller(esDecisions);
  const runs: SetupStats['runs'] = [];
  const decide: SetupStats['decide'] = { memory: [], journal: [], elasticsearch: [] };
  for (let r = 0; r < RUNS; r++) {
    const t = S.setupTimes(uacByRun[r]!, messages);
    const te = S.setupTimes(uacEsByRun[r]!, messages);
    const tm = S.setupTimes(uacMinByRun[r]!, messages);
    const tms = S.setupTimes(uacMinSubByRun[r]!, messages);
    const row = { journal: [] as number[], memory: [] as number[], es: [] as number[], base: [] as number[], baseEs: [] as number[], minimal: [] as number[], baseMin: [] as number[], minimalSub: [] as number[], baseMinSub: [] as number[], minimalContinue: minContinueByRun[r]! };
    const dec = {
      memory: { decide: [] as number[], lookup: [] as number[], router: [] as number[], noDecideMs: 0 },
      journal: { decide: [] as number[], lookup: [] as number[], router: [] as number[], noDecideMs: 0 },
      elasticsearch: { decide: [] as number[], lookup: [] as number[], router: [] as number[], noDecideMs: 0 },
    };
    const take = (d: DecisionLine | undefined, expect: 'memory' | 'journal' | 'elasticsearch', caller: string, ms: number | undefined, into: number[]) => {
      if (!d || d.reason !== 'sticky_agent' || d.agent !== '1002' || d.source !== expect) {
        anomalies.push(`run ${r + 1}: ${caller} expected a ${expect} hit → 1002, got ${d ? `${d.reason} (${d.source ?? 'no source'}) → ${d.agent ?? '-'}` : 'no decision'}`);
        return;
      }
      if (ms !== undefined && Number.isFinite(ms)) into.push(ms);
      else anomalies.push(`run ${r + 1}: ${caller}: 1002's phone has no INVITE for this call`);
      if (d.decideMs !== undefined) dec[expect].decide.push(d.decideMs);
      else dec[expect].noDecideMs++;
      if (d.lookupMs !== undefined) dec[expect].lookup.push(d.lookupMs);
      if (d.routerMs !== undefined) dec[expect].router.push(d.routerMs);
    };
    for (let k = 0; k < CALLS; k++) {
      const jc = S.journalCaller(r, k);
      const [dj, dm] = jd.get(jc) ?? [];
      const [sj, sm] = t.get(jc) ?? [];
      take(dj, 'journal', jc, sj, row.journal);
      take(dm, 'memory', jc, sm, row.memory);
      const b = t.get(S.baselineCaller(r, k))?.[0];
      if (b !== undefined && Number.isFinite(b)) row.base.push(b);
      else anomalies.push(`run ${r + 1}: baseline ${S.baselineCaller(r, k)} has no set-up time`);
      const ec = S.esCaller(r, k);
      take(ed.get(ec)?.[0], 'elasticsearch', ec, te.get(ec)?.[0], row.es);
      const be = te.get(S.baselineCaller(r, k, 5))?.[0];
      if (be !== undefined && Number.isFinite(be)) row.baseEs.push(be);
      const m = tm.get(S.minimalCaller(r, k))?.[0];
      if (m !== undefined && Number.isFinite(m)) row.minimal.push(m);
      else anomalies.push(`run ${r + 1}: minimal-app call ${S.minimalCaller(r, k)} has no set-up time`);
      const bm = tm.get(S.baselineCaller(r, k, 3))?.[0];
      if (bm !== undefined && Number.isFinite(bm)) row.baseMin.push(bm);
      const ms = tms.get(S.minimalCaller(r, k, true))?.[0];
      if (ms !== undefined && Number.isFinite(ms)) row.minimalSub.push(ms);
      else anomalies.push(`run ${r + 1}: minimal-app + endpoint:PJSIP call ${S.minimalCaller(r, k, true)} has no set-up time`);
      const bms = tms.get(S.baselineCaller(r, k, 4))?.[0];
      if (bms !== undefined && Number.isFinite(bms)) row.baseMinSub.push(bms);
    }
    runs.push(row);
    for (const k of ['memory', 'journal', 'elasticsearch'] as const) decide[k].push(dec[k]);
  }
  setup = { runs, decide, anomalies, esDoubleMs, wsPerCall, amiPerCall: amiPerCall(ami), ...asteriskHops(ami) };
  saveCdrTemplates(ami);
  noteLoad('call set-up: end');
}

/**
 * The ES double's own answer time to the router's lookup query, from this process:
 * back to back (both processes hot), and one lookup per SPACED_GAP_MS, as the calls
 * of stage 1 arrive (both processes idle in between, as the router and the double are
 * when a call comes): what the router's Elasticsearch rows can at best be read against.
 */
const SPACED_GAP_MS = 250;
async function probeEsDouble(url: string, prefix: string): Promise<SetupStats['esDoubleMs']> {
  const client = new Client({ node: url });
  const src = new ElasticsearchSource({ client, prefix, timeoutMs: 300 });
  const lookup = (i: number) => src.lastAgentFor(S.esCaller(0, i % CALLS), DateTime.utc().minus({ minutes: 30 }), AbortSignal.timeout(1000));
  const ms: number[] = [];
  for (let i = 0; i < 220; i++) {
    const t0 = performance.now();
    await lookup(i);
    if (i >= 20) ms.push(performance.now() - t0);
  }
  const spaced: number[] = [];
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, SPACED_GAP_MS));
    const t0 = performance.now();
    await lookup(i);
    spaced.push(performance.now() - t0);
  }
  await client.close();
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), spacedP50: percentile(spaced, 50), spacedP99: percentile(spaced, 99), spacedGapMs: SPACED_GAP_MS };
}

/**
 * Two hops of stage 1's calls as Asterisk stamps them on AMI, by side (the caller
 * number's prefix): the caller's channel from Stasis() to the first step of
 * [sticky-ring] (StasisStart sent, the app's decision, its `continue` carried out),
 * and agent 1002's channel from its creation to its INVITE (Newchannel → DialBegin),
 * where a pre-dial handler (Dial's b()) would run with the caller in autoservice.
 */
function asteriskHops(ami: AmiWatch): Pick<SetupStats, 'preDialMs' | 'inStasisMs'> {
  const sideOf = (caller: string): PreDialSide | undefined =>
    caller.startsWith('+1303') ? 'plain' : caller.startsWith('+1505') ? 'minimal' : caller.startsWith('+1606') ? 'minimalSub' : caller.startsWith('+1202') ? 'router' : caller.startsWith('+1404') ? 'es' : undefined;
  const at = (e: Record<string, string | undefined>) => Number(e.Timestamp) * 1000;
  const created = new Map<string, number>();
  const stasisAt = new Map<string, number>();
  const pre: Record<PreDialSide, number[]> = { plain: [], minimal: [], minimalSub: [], router: [], es: [] };
  const inStasis: Record<Exclude<PreDialSide, 'plain'>, number[]> = { minimal: [], minimalSub: [], router: [], es: [] };
  for (const e of ami.events) {
    if (!e.Timestamp || !e.Uniqueid) continue;
    if (e.Event === 'Newchannel') created.set(e.Uniqueid, at(e));
    else if (e.Event === 'Newexten' && e.Application === 'Stasis') stasisAt.set(e.Uniqueid, at(e));
    else if (e.Event === 'Newexten' && e.Context === 'sticky-ring' && e.Priority === '1') {
      const side = sideOf(e.CallerIDNum ?? '');
      const t0 = stasisAt.get(e.Uniqueid);
      if (side && side !== 'plain' && t0 !== undefined) inStasis[side].push(at(e) - t0);
      stasisAt.delete(e.Uniqueid);
    } else if (e.Event === 'DialBegin' && (e.DestChannel ?? '').startsWith('PJSIP/1002-')) {
      const side = sideOf(e.CallerIDNum ?? '');
      const t0 = created.get(e.DestUniqueid ?? '');
      if (side && t0 !== undefined) pre[side].push(at(e) - t0);
    }
  }
  const q = (v: number[]) => ({ p50: v.length ? percentile(v, 50) : NaN, p99: v.length ? percentile(v, 99) : NaN, n: v.length });
  return {
    preDialMs: Object.fromEntries(Object.entries(pre).map(([k, v]) => [k, q(v)])) as NonNullable<SetupStats['preDialMs']>,
    inStasisMs: Object.fromEntries(Object.entries(inStasis).map(([k, v]) => [k, q(v)])) as NonNullable<SetupStats['inStasisMs']>,
  };
}

/** AMI events per call that the router's AMI session receives, router calls versus baseline calls. */
function amiPerCall(ami: AmiWatch): SetupStats['amiPerCall'] {
  // What the router's own session receives: the filter it installs at login, built from its consumers' declarations.
  const filters = amiSessionFilters(routerAmiConsumers);
  const isUsed = (e: Record<string, string | undefined>) => passesAmiFilters(filters, e);
  const callerOf = new Map<string, string>();
  for (const e of ami.events) if (e.Event === 'Newchannel' && e.Uniqueid === e.Linkedid) callerOf.set(e.Linkedid!, e.CallerIDNum ?? '');
  const perCall = new Map<string, { n: number; bytes: number; used: number; types: Record<string, number> }>();
  for (const e of ami.events) {
    const link = e.Linkedid ?? e.LinkedID;
    if (!link || !callerOf.has(link)) continue;
    const c = perCall.get(link) ?? perCall.set(link, { n: 0, bytes: 0, used: 0, types: {} }).get(link)!;
    c.n++;
    c.bytes += Object.entries(e).reduce((a, [k, v]) => a + k.length + String(v).length + 4, 2);
    if (isUsed(e)) c.used++;
    c.types[e.Event] = (c.types[e.Event] ?? 0) + 1;
  }
  const routerCalls = [...perCall].filter(([l]) => callerOf.get(l)?.startsWith('+1202') || callerOf.get(l)?.startsWith('+1404')).map(([, c]) => c);
  const baseCalls = [...perCall].filter(([l]) => callerOf.get(l)?.startsWith('+1303')).map(([, c]) => c);
  if (routerCalls.length === 0 || baseCalls.length === 0) return undefined;
  const types: Record<string, number> = {};
  for (const c of routerCalls) for (const [k, v] of Object.entries(c.types)) types[k] = (types[k] ?? 0) + v / routerCalls.length;
  return {
    router: median(routerCalls.map((c) => c.n)),
    baseline: median(baseCalls.map((c) => c.n)),
    routerBytes: median(routerCalls.map((c) => c.bytes)),
    baselineBytes: median(baseCalls.map((c) => c.bytes)),
    used: median(routerCalls.map((c) => c.used)),
    types,
  };
}

const cdrTemplatesFile = join(work, 'cdr-templates.json');
function saveCdrTemplates(ami: AmiWatch): void {
  const cdrs = ami.events.filter((e) => e.Event === 'Cdr').slice(0, 200);
  writeFileSync(cdrTemplatesFile, JSON.stringify(cdrs));
}

async function throughputStage(dataDir: string, asteriskPid: number, cleanups: (() => Promise<void> | void)[]): Promise<void> {
  noteLoad('throughput: start');
  say(`stage 3: throughput, ${RUNS} runs, rates ${RATES.join(',')} calls/s for ${STEP_S} s each, baseline and router in turn`);
  addBenchAgents(T.BENCH_AGENT_FIRST, T.BENCH_AGENTS, T.BENCH_AGENT_PORT);
  cleanups.push(() => removeBenchAgents());
  const benchPhone = await startPhone(T.BENCH_AGENT_PORT, work);
  cleanups.push(async () => void (await benchPhone.stop()));
  const phone1002 = await startPhone(5072, work);
  cleanups.push(async () => void (await phone1002.stop()));
  await waitEndpointState('1002', 'online', 20_000);
  const runs: T.StepResult[][] = [];
  let routerRss = NaN;
  for (let r = 0; r < RUNS; r++) {
    const steps: T.StepResult[] = [];
    const step = async (side: T.Side, rate: number, offset: number, router: BenchRouter | undefined) => {
      const res = await T.runStep({ side, rate, stepS: STEP_S, run: r, offset, dir: work, router, asteriskPid, phone: side === 'router' ? benchPhone : phone1002 });
      steps.push(res);
      say(`  run ${r + 1}/${RUNS} ${side} ${rate}/s: ${res.correct}/${res.calls} routed correctly (${fmt(res.correctPct, 2)}%), ${res.recorded} also recorded correctly, started ${fmt(res.achievedRate, 0)}/s, answer p50/p95 ${fmt(res.answerP50, 0)}/${fmt(res.answerP95, 0)} ms, router CPU ${fmt(res.routerCpuPct, 0)}%, asterisk CPU ${fmt(res.asteriskCpuPct, 0)}%, load ${res.load1}${res.pass ? '' : ' FAIL'}`);
      return res.pass;
    };
    // Plain dialplan with no router running at all (no ARI app, no AMI session).
    let offset = 0;
    for (const rate of RATES) {
      const ok = await step('alone', rate, offset, undefined);
      offset += rate * STEP_S;
      if (!ok) break;
    }
    // Router connected: DID 999 (it only watches) and DID 100 (it routes), in turn at each rate.
    const router = await startBenchRouter({ DATA_DIR: dataDir }, join(work, `router-throughput-${r + 1}.log`));
    try {
      const failed = { router: false, baseline: false };
      offset = 0;
      for (const rate of RATES) {
        for (const side of ['baseline', 'router'] as const) {
          if (failed[side]) continue;
          if (!(await step(side, rate, offset, router))) failed[side] = true;
        }
        offset += rate * STEP_S;
        if (failed.router && failed.baseline) break;
      }
      routerRss = rssMb(router.pid);
    } finally {
      await router.stop();
    }
    runs.push(steps);
    noteLoad(`throughput: run ${r + 1} end`);
  }
  throughput = { runs, routerRss };
}

// ---------------------------------------------------------------- in-process stages
function child<T>(script: string, extraEnv: Record<string, string>): Promise<T> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(here, script)], { env: { ...env, ...extraEnv, BENCH_RUNS: String(RUNS) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        res(JSON.parse(line) as T);
      } catch (err) {
        rej(new Error(`${script}: ${(err as Error).message}: ${out.slice(-500)}`));
      }
    });
  });
}

// ---------------------------------------------------------------- main
let exitCode = 0;
try {
  if (STAGES.has('setup') || STAGES.has('throughput')) await pbxStages();
  if (STAGES.has('ingest')) {
    noteLoad('ingest: start');
    say('stage 4: CDR ingest (in-process)');
    ingest = await child<IngestOut>('ingest.ts', { BENCH_CDR_TEMPLATES: cdrTemplatesFile, BENCH_INGEST_EVENTS: env.BENCH_INGEST_EVENTS ?? '20000' });
  }
  if (STAGES.has('lookup')) {
    noteLoad('lookup: start');
    say('stage 5: journal lookup at 1M CDRs (in-process)');
    lookup = await child<LookupOut>('lookup-1m.ts', {});
  }
  noteLoad('end');
} catch (err) {
  exitCode = 1;
  say(`failed: ${(err as Error).stack ?? err}`);
  skipped.push(`a stage failed: ${(err as Error).message.split('\n')[0]}`);
} finally {
  const results: BenchResults = {
    config: { runs: RUNS, calls: CALLS, rates: RATES, stepS: STEP_S, agents: { first: T.BENCH_AGENT_FIRST, count: T.BENCH_AGENTS, port: T.BENCH_AGENT_PORT }, maxAnswerP95Ms: T.MAX_ANSWER_P95_MS },
    machine: { cpus: availableParallelism(), cpuModel, memGb, node: process.version, asterisk: asteriskVer, sipp: sippVersion },
    srcFingerprint,
    routerFrom: routerFrom(),
    startedAt: started,
    endedAt: Date.now(),
    loads,
    skipped,
    setup,
    throughput,
    ingest,
    lookup,
  };
  // The measurement as data (kept with BENCH_KEEP=1): `tsx test/bench/render.ts <file>` renders it again.
  writeFileSync(join(work, 'results.json'), JSON.stringify(results));
  const { markdown, table } = renderResults(results);
  // Sections 6 and 7 belong to cost.ts and asterisk-cost.ts (between their markers): kept until they run again.
  const previous = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  const others = ['<!-- cost.ts: begin -->', '<!-- asterisk-cost.ts: begin -->'].map((m) => previous.indexOf(m)).filter((i) => i >= 0);
  writeFileSync(resultsFile, others.length > 0 ? `${markdown.trimEnd()}\n\n${previous.slice(Math.min(...others))}` : markdown);
  process.stdout.write(`${table}\n\nwritten: ${resultsFile}\n`);
  if (env.BENCH_KEEP) say(`kept ${work} (router logs, sipp traces)`);
  else rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);
