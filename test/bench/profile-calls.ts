// Where a routed call's CPU goes: starts the harness and the router (with the CPU
// profile hook), profiles PROFILE_IDLE_S of idle, then PROFILE_S seconds of routed
// calls at PROFILE_RATE/s (DID 100, journal hits, the cost bench's bench agents), and
// writes both profiles (.cpuprofile, open in Chrome DevTools) plus a top-25 self-time
// summary per profile on stderr. The profiler's sampling costs CPU itself: PROFILE=0
// measures the same without it (the CPU figures to believe).
//   test/harness/netns-run.sh <ns> npx tsx test/bench/profile-calls.ts <out-dir>
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:net';
import { Journal } from '../../src/cdr/journal.js';
import { amiSessionFilters } from '../../src/ami/filter.js';
import { routerAmiConsumers } from '../../src/ami/consumers.js';
import { harnessEnv } from '../harness/credentials.js';
import { hangupAllChannels, waitEndpointState } from '../support/harness.js';
import { runCallers, startPhone, type AgentPhone } from '../support/sipp.js';
import { addBenchAgents, cpuSeconds, ensureHarness, removeBenchAgents, rssMb, runningPid, stopHarness } from './lib/pbx.js';
import { startBenchRouter } from './lib/router.js';
import * as T from './stages/throughput.js';

/** utime and stime (s) of each thread of pid, by thread name. */
function threadCpu(pid: number): Map<string, { user: number; sys: number }> {
  const out = new Map<string, { user: number; sys: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cur = out.get(name) ?? { user: 0, sys: 0 };
      out.set(name, { user: cur.user + Number(f[11]) / 100, sys: cur.sys + Number(f[12]) / 100 });
    } catch {
      // the thread ended
    }
  }
  return out;
}

function threadDelta(a: Map<string, { user: number; sys: number }>, b: Map<string, { user: number; sys: number }>, calls: number): string {
  return [...b]
    .map(([name, v]) => ({ name, user: v.user - (a.get(name)?.user ?? 0), sys: v.sys - (a.get(name)?.sys ?? 0) }))
    .filter((d) => d.user + d.sys > 0)
    .sort((x, y) => y.user + y.sys - (x.user + x.sys))
    .map((d) => `${d.name} user ${((d.user * 1000) / calls).toFixed(2)} sys ${((d.sys * 1000) / calls).toFixed(2)} ms/call`)
    .join('; ');
}

const outDir = resolve(process.argv[2] ?? 'profiles');
const RATE = Number(process.env.PROFILE_RATE ?? 20);
const SECONDS = Number(process.env.PROFILE_S ?? 10);
const IDLE_S = Number(process.env.PROFILE_IDLE_S ?? 20);
const say = (m: string) => process.stderr.write(`profile: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

function summary(file: string): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] };
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  const counts = new Map<number, number>();
  for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  // Percentages of the busy samples: the profile's own sampling costs CPU, so idle time says nothing.
  const total = p.samples.filter((s) => !idleIds.has(s)).length;
  for (const n of p.nodes) {
    const c = counts.get(n.id) ?? 0;
    if (!c || idleIds.has(n.id)) continue;
    const url = n.callFrame.url.replace(/^file:\/\/.*?node_modules\//, 'nm:').replace(/^file:\/\/.*?\/dist\//, 'dist:');
    const key = `${n.callFrame.functionName || '(anon)'} ${url}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + c);
    const pkg = url.startsWith('nm:') ? url.split('/').slice(0, url.startsWith('nm:@') ? 2 : 1).join('/') : url || n.callFrame.functionName;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + c);
  }
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([n, c]) => `  ${((c / total) * 100).toFixed(1).padStart(5)}%  ${n}`).join('\n');
  return `${file} (${total} busy samples of ${p.samples.length})\nby function:\n${top(self, 25)}\nby package/file:\n${top(byFile, 20)}`;
}

/** An AMI session with the router's own filters: what the router's session receives, by event (and VarSet variable). */
function amiCounter(): { counts: Map<string, number>; close(): void } {
  const counts = new Map<string, number>();
  const sock = connect(Number(harnessEnv.AMI_PORT), harnessEnv.AMI_HOST);
  const send = (fields: Record<string, string>) => sock.write(`${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
  send({ Action: 'Login', Username: harnessEnv.AMI_USERNAME, Secret: harnessEnv.AMI_PASSWORD });
  for (const f of amiSessionFilters(routerAmiConsumers)) send({ Action: 'Filter', Operation: 'Add', Filter: f });
  let buf = '';
  sock.on('data', (c: Buffer) => {
    buf += c.toString('latin1');
    let i: number;
    while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 4);
      const ev = /^Event: (.*)$/m.exec(block)?.[1];
      if (!ev) continue;
      const key = ev === 'VarSet' ? `VarSet ${/^Variable: (.*)$/m.exec(block)?.[1] ?? ''}` : ev;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  });
  sock.on('error', () => undefined);
  return { counts, close: () => sock.destroy() };
}

mkdirSync(outDir, { recursive: true });
const h = await ensureHarness();
if ('unsupported' in h) throw new Error(h.unsupported);
const work = mkdtempSync(join(tmpdir(), 'sticky-profile-'));
const phones: AgentPhone[] = [];
try {
  await hangupAllChannels();
  const dataDir = join(work, 'data');
  const j = new Journal(dataDir);
  j.appendMany(T.throughputHistory(1, RATE * SECONDS));
  j.close();
  addBenchAgents(T.BENCH_AGENT_FIRST, T.BENCH_AGENTS, T.BENCH_AGENT_PORT);
  for (const port of [5071, 5072, 5073, T.BENCH_AGENT_PORT]) phones.push(await startPhone(port, work));
  await waitEndpointState('1002', 'online', 20_000);
  const hook = join(import.meta.dirname, 'lib', 'cpu-profile-hook.mjs');
  const profiling = process.env.PROFILE !== '0';
  const signal = () => profiling && process.kill(router.pid, 'SIGUSR2');
  const extra = process.env.PROFILE_NODE_OPTIONS ?? '';
  const router = await startBenchRouter({ DATA_DIR: dataDir, ...(extra && !profiling ? { NODE_OPTIONS: extra } : {}), ...(profiling ? { NODE_OPTIONS: `--import ${hook}`, BENCH_CPU_PROF_DIR: outDir } : {}) }, join(work, 'router.log'));
  try {
    await sleep(Number(process.env.PROFILE_SETTLE_S ?? 10) * 1000); // start-up work settles
    const before = new Set(readdirSync(outDir));
    const c0 = cpuSeconds(router.pid);
    signal();
    // Idle CPU in 5 s slots: what start-up work is still running.
    const slots: string[] = [];
    for (let t = 0, prev = c0; t < IDLE_S; t += 5) {
      await sleep(5000);
      const now = cpuSeconds(router.pid);
      slots.push(((now - prev) * 1000).toFixed(0));
      prev = now;
    }
    signal();
    say(`idle CPU per 5 s slot (ms): ${slots.join(' ')}`);
    say(`RSS after start: ${rssMb(router.pid).toFixed(0)} MB`);
    say(`idle: ${(((cpuSeconds(router.pid) - c0) / IDLE_S) * 100).toFixed(2)}% of a core`);
    await sleep(500);
    const lines = Array.from({ length: RATE * SECONDS }, (_, i) => ({ caller: T.routerCaller(0, i), did: '100', talkMs: T.TALK_MS, gapMs: 0 }));
    const ami = amiCounter();
    await sleep(500);
    ami.counts.clear();
    const c1 = cpuSeconds(router.pid);
    const asteriskPid = runningPid()!;
    const a1 = cpuSeconds(asteriskPid);
    const th1 = threadCpu(router.pid);
    signal();
    const res = await runCallers(lines, work, { rate: RATE, limit: 5000, timeoutS: SECONDS + 60 });
    await sleep(2000);
    signal();
    const cpu = cpuSeconds(router.pid) - c1;
    const asteriskCpu = cpuSeconds(asteriskPid) - a1;
    // Asterisk does the same work for every run: a slow (shared, throttled) machine inflates both alike.
    say(`asterisk CPU ${((asteriskCpu * 1000) / lines.length).toFixed(2)} ms per call; router/asterisk ${(cpu / asteriskCpu).toFixed(3)}`);
    say(`by thread: ${threadDelta(th1, threadCpu(router.pid), lines.length)}`);
    ami.close();
    const perCall = [...ami.counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${(n / lines.length).toFixed(2)}`);
    say(`AMI events per call through the router's filters: ${[...ami.counts.values()].reduce((a, b) => a + b, 0) / lines.length}: ${perCall.join(', ')}`);
    const inner = router.decisions.map((d) => d.routerMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    say(`routerMs (frame → continue issued) p50 ${inner[Math.floor(inner.length / 2)]} ms, p99 ${inner[Math.floor(inner.length * 0.99)]} ms of ${inner.length}`);
    const decide = router.decisions.map((d) => d.decideMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    say(`decideMs (frame → continue answered) p50 ${decide[Math.floor(decide.length / 2)]} ms, p95 ${decide[Math.floor(decide.length * 0.95)]} ms`);
    const answers = [...res.answers].map(([caller, t]) => t - (res.starts.get(caller) ?? t)).sort((a, b) => a - b);
    say(`INVITE → 200 OK p50 ${answers[Math.floor(answers.length / 2)]} ms, p95 ${answers[Math.floor(answers.length * 0.95)]} ms`);
    say(`RSS after the calls: ${rssMb(router.pid).toFixed(0)} MB`);
    say(`calls: ${res.ok.length}/${lines.length} ok, router CPU ${(cpu * 1000).toFixed(0)} ms = ${((cpu * 1000) / lines.length).toFixed(2)} ms per call (idle not subtracted)`);
    await sleep(1000);
    for (const f of readdirSync(outDir).filter((f) => !before.has(f) && f.endsWith('.cpuprofile')).sort()) say(summary(join(outDir, f)));
  } finally {
    await router.stop();
  }
} finally {
  await Promise.all(phones.map((p) => p.stop()));
  removeBenchAgents();
  if (h.started) await stopHarness();
}
