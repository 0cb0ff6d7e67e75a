// npm run demo: the router's main job in one command, on a real PBX.
//
//   1. +12025550100 calls DID 100 with no history: the IVR queue; agent 1002 answers,
//      they talk ~3 s, the caller hangs up. Asterisk's CDR reaches the router over AMI.
//   2. +12025550100 calls again: straight to 1002, learned from that CDR.
//   3. +12025550199 (new) waits in the queue while 1002's phone rings unanswered, and
//      hangs up after ~3 s: an abandon.
//
// Each decision is printed as a table row as the router logs it, then a few lines of
// /metrics. Everything the demo starts (the harness's Asterisk if it was not running,
// the router, sipp) is stopped again, on success, failure, Ctrl-C or SIGTERM. It is
// also a smoke test: any step that does not happen as expected exits non-zero.
//
//   npm run demo              # run it
//   npm run demo -- --hold    # keep the router (and PBX) up afterwards, until Ctrl-C
//
// It lives in test/ (not scripts/) because it is built from the integration tests'
// helpers (test/support, test/harness), is type-checked with them, and is not part
// of the published package.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, runningPid, up } from '../harness/asterisk.js';
import { rootTarball } from '../harness/rootfs.js';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { agentStatesLoaded, decisionAfter, journalCdrs, poll } from '../support/cdr.js';
import { ariGet, harnessEnv, phoneUp, waitChannelsGone, waitEndpointState } from '../support/harness.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, sippScratchDir, startAgent, type Agent, type CallResult } from '../support/sipp.js';

const DID = '100';
const RETURNING = '+12025550100';
const NEWCOMER = '+12025550199';
const AGENT = '1002';
const PREFERRED_HTTP_PORT = 8090;
const hold = process.argv.includes('--hold');
let httpBase: string | undefined; // the router's, once it listens

const out = (s = '') => process.stdout.write(`${s}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** Local wall-clock time of a pino `time` (ISO string with LOG_FORMAT=json, or epoch ms). */
const clock = (t: unknown) => {
  const d = new Date(typeof t === 'string' || typeof t === 'number' ? t : Date.now());
  return Number.isNaN(d.getTime()) ? '??:??:??' : d.toTimeString().slice(0, 8);
};

/** A step that did not happen as expected: the demo's smoke-test failure. */
class Unexpected extends Error {}
function expect(ok: unknown, what: string): asserts ok {
  if (!ok) throw new Unexpected(what);
}

// ---------------------------------------------------------------- what to clean up
const started: {
  harness: 'not yet' | 'starting' | 'ours' | 'theirs';
  pidBefore?: number;
  router?: RouterProcess;
  phone?: Agent;
  ami?: AmiWatch;
  dataDir?: string;
} = { harness: 'not yet' };
const timings: [string, number][] = [];
/** Set once cleanup has begun (success, failure or a signal): the exit is under way. */
let finishing: Promise<never> | undefined;
/** Set while --hold waits for Ctrl-C. */
let releaseHold: (() => void) | undefined;
let step = 'prerequisites';

async function timed<T>(what: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  step = what;
  const r = await f();
  timings.push([what, Date.now() - t0]);
  return r;
}

// ---------------------------------------------------------------- prerequisites
function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Prints what is missing and how to install it; false when the demo cannot run here. */
function prerequisites(): boolean {
  if (process.platform !== 'linux') {
    out(`demo: this needs Linux (it runs Asterisk in a chroot); this is ${process.platform}.`);
    return false;
  }
  if (process.getuid?.() !== 0) {
    out('demo: run it as root (chroot and mmdebstrap --mode=root need root), e.g. sudo npm run demo');
    return false;
  }
  const harnessRunning = runningPid() !== undefined;
  const needed: [cmd: string, pkg: string][] = [
    ['mmdebstrap', 'mmdebstrap'], // builds the Asterisk root the first time
    ['sipp', 'sip-tester'], // callers and agents' phones
    ['zstd', 'zstd'], // extracts the cached root
  ];
  const missing = needed.filter(([cmd]) => {
    if (cmd === 'mmdebstrap' && (harnessRunning || existsSync(rootTarball()))) return false;
    if (cmd === 'zstd' && harnessRunning) return false;
    return !has(cmd);
  });
  if (missing.length === 0) return true;
  out(`demo: missing ${missing.map(([cmd, pkg]) => (cmd === pkg ? cmd : `${cmd} (Debian package ${pkg})`)).join(', ')}. Install with:`);
  out(`  apt-get install -y ${missing.map(([, pkg]) => pkg).join(' ')}`);
  return false;
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------- the table
const columns: [string, number][] = [
  ['TIME', 8],
  ['CALLER', 13],
  ['DID', 4],
  ['DECISION / REASON', 22],
  ['AGENT', 5],
  ['LOOKUP (source, time)', 22],
  ['RING OUTCOME', 0],
];
// Once the demo is stopping, the steps still unwinding in the background print nothing.
const row = (cells: string[]) => !finishing && out(`  ${cells.map((c, i) => (columns[i]![1] ? c.padEnd(columns[i]![1]) : c)).join('  ')}`.trimEnd());
const note = (s: string) => !finishing && out(`  ${' '.repeat(10)}└ ${s}`);
const header = () => {
  row(columns.map(([h]) => h));
  row(columns.map(([h, w]) => '─'.repeat(w || h.length)));
};

type Line = Record<string, unknown>;
const str = (v: unknown) => (v === undefined || v === null || v === '' ? '-' : String(v));
const fmtMs = (ms: unknown) => (typeof ms !== 'number' ? '' : ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`);

function printDecision(d: Line): void {
  const caller = d.caller as { raw?: string };
  const lookup = (d.lookup ?? {}) as { source?: string; ms?: number; error?: string };
  const ring = d.ring as { outcome: string; ms?: number } | undefined;
  const source = lookup.source ?? (lookup.error ? `failed (${lookup.error})` : 'miss');
  row([
    clock(d.time),
    str(caller?.raw),
    str(d.did),
    `${str(d.action)} / ${str(d.reason)}`,
    str(d.agent),
    `${source} ${fmtMs(lookup.ms)}`.trim(),
    ring ? `${ring.outcome}${ring.ms !== undefined ? ` after ${secs(ring.ms)}` : ''}` : 'not rung (to the IVR)',
  ]);
}

function printAbandon(l: Line): void {
  const a = l.abandon as { caller: { raw: string }; did?: string; queue?: string; source: string; waited_seconds: number; sticky_agent?: string };
  row([
    clock(l.time),
    a.caller.raw,
    str(a.did),
    `abandon / ${a.source}`,
    str(a.sticky_agent),
    '-',
    `hung up after ${a.waited_seconds} s${a.queue ? ` in queue ${a.queue}` : ''}`,
  ]);
}

/** Router warnings and errors, shown as they happen: a demo should not hide them. */
function watchRouterProblems(router: RouterProcess): NodeJS.Timeout {
  let seen = 0;
  const t = setInterval(() => {
    for (; seen < router.lines.length; seen++) {
      const l = router.lines[seen]!;
      // Levels are labels with LOG_FORMAT=json (numbers in plain pino): accept both.
      const level = typeof l.level === 'number' ? (l.level >= 50 ? 'error' : l.level >= 40 ? 'warn' : '') : String(l.level ?? '');
      if (['warn', 'error', 'fatal'].includes(level)) out(`  ! router ${level}: ${String(l.msg)}${l.err ? ` (${typeof l.err === 'string' ? l.err : JSON.stringify(l.err).slice(0, 200)})` : ''}`);
    }
  }, 200);
  t.unref();
  return t;
}

function sippOk(r: CallResult, what: string): void {
  expect(r.exitCode === 0, `${what}: sipp exited with ${r.exitCode}${r.errors ? `:\n${r.errors.trim().slice(-600)}` : ''}`);
}

// ---------------------------------------------------------------- the demo
async function demo(): Promise<void> {
  out('sticky-router demo: a returning caller goes straight to the agent they last talked to\n');

  // --- the PBX
  const pidBefore = runningPid();
  started.pidBefore = pidBefore;
  if (pidBefore === undefined) out(`· starting the harness: Asterisk 22 in a chroot${existsSync(rootTarball()) ? '' : ' (first run: building its root with mmdebstrap, ~30 s, cached afterwards)'}`);
  started.harness = 'starting';
  const h = await timed('harness up', () => up((m) => out(`  harness: ${m}`)));
  started.harness = h.started ? 'ours' : 'theirs';
  if (!h.started) out(`· harness already running (Asterisk pid ${h.pid}): using it, and leaving it running`);
  started.ami = await watchAmi();

  // --- the router: embedded store only, empty, on 8090 if free
  const portOk = await portFree(PREFERRED_HTTP_PORT, '127.0.0.1');
  started.dataDir = mkdtempSync(join(tmpdir(), 'sticky-demo-data-'));
  out(`· starting the router: journal only (no ES_NODE), empty DATA_DIR ${started.dataDir}`);
  if (!portOk) out(`  port ${PREFERRED_HTTP_PORT} is in use here: the router's HTTP endpoint takes a free port instead`);
  const router = await timed('router ready', async () => {
    // waitReady: false, so that Ctrl-C during start-up still finds the process to stop.
    const r = (started.router = await startRouter({ DATA_DIR: started.dataDir!, HTTP_PORT: String(portOk ? PREFERRED_HTTP_PORT : 0) }, { waitReady: false }));
    await r.waitForLog((l) => l.msg === 'sticky-router started', 30_000, 'the router to start');
    await agentStatesLoaded(r);
    return r;
  });
  watchRouterProblems(router);
  const port = Number((await router.waitForLog((l) => l.msg === 'http listening', 1000, 'http listening')).port);
  const base = (httpBase = `http://127.0.0.1:${port}`);
  out(`  router up: ARI app registered, AMI logged in, HTTP on ${base}${portOk ? '' : ` (not ${PREFERRED_HTTP_PORT}: it was taken)`}`);

  // --- agent 1002's phone; 1001 and 1003 have none
  out(`· agent ${AGENT}'s phone: sipp on 127.0.0.1:5072, answers after 0.5 s (1001 and 1003 have no phone: offline)`);
  started.phone = await timed('agent phone online', async () => {
    const phone = await phoneUp(AGENT, () => startAgent(AGENT, { ringMs: 500 }));
    await waitEndpointState('1001', 'offline');
    await waitEndpointState('1003', 'offline');
    return phone;
  });

  const ami = started.ami;
  out('\nDecisions, as the router logs them (lookup: memory, then the journal; miss = nobody talked to this caller):\n');
  header();

  // --- 1. first call: no history → IVR queue → 1002 answers
  await timed('call 1 (no history → queue → 1002)', async () => {
    const from = router.lines.length;
    const t0 = Date.now();
    const c1 = call(DID, RETURNING, { talkMs: 4000 });
    const d = await decisionAfter(router, RETURNING, from);
    printDecision(d);
    expect(d.action === 'fallback' && d.reason === 'no_history', `call 1: expected fallback / no_history, got ${str(d.action)} / ${str(d.reason)}`);
    const join = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === RETURNING && ami.at(e) >= t0, 10_000, 'call 1 to join the queue');
    const conn = await ami.waitFor((e) => e.Event === 'AgentConnect' && e.Uniqueid === join.Uniqueid, 20_000, 'an agent to answer call 1 in the queue');
    expect(conn.Interface === `PJSIP/${AGENT}`, `call 1: expected ${AGENT} to answer in the queue, got ${str(conn.Interface)}`);
    note(`queue ${str(join.Queue)}: ${AGENT} answered after ${secs(ami.at(conn) - ami.at(join))} in the queue; they talk`);
    const r = await c1;
    sippOk(r, 'call 1');
    note(`caller hung up after ${secs(r.endedAt - ami.at(conn))} with ${AGENT}`);
    const cdrs = await poll(
      () => journalCdrs(started.dataDir!, (c) => c.customer_e164 === RETURNING),
      (cs) => cs.some((c) => c.agent === AGENT && c.talked),
      15_000,
      `the CDR of call 1 (${RETURNING} ↔ ${AGENT}) in the router's journal`,
    );
    const cdr = cdrs.find((c) => c.agent === AGENT && c.talked)!;
    note(`Asterisk's CDR arrived over AMI and is in the journal: ${RETURNING} talked to ${cdr.agent} for ${cdr.talk_seconds} s`);
    await waitChannelsGone();
  });

  // --- 2. second call: straight to 1002
  await timed('call 2 (sticky → 1002)', async () => {
    const from = router.lines.length;
    const t0 = Date.now();
    const c2 = call(DID, RETURNING, { talkMs: 3000 });
    const d = await decisionAfter(router, RETURNING, from);
    printDecision(d);
    const lookup = d.lookup as { source?: string };
    expect(d.action === 'ring' && d.reason === 'sticky_agent' && d.agent === AGENT, `call 2: expected ring / sticky_agent to ${AGENT}, got ${str(d.action)} / ${str(d.reason)} agent ${str(d.agent)}`);
    expect(lookup.source === 'memory' || lookup.source === 'journal', `call 2: expected the answer from memory or the journal (what the CDR taught), got ${str(lookup.source)}`);
    expect((d.ring as { outcome?: string } | undefined)?.outcome === 'answered', `call 2: expected ${AGENT} to answer, ring ${JSON.stringify(d.ring)}`);
    const dial = await ami.waitFor((e) => e.Event === 'DialBegin' && e.Context === 'sticky-ring' && e.CallerIDNum === RETURNING && ami.at(e) >= t0, 5000, 'the sticky Dial of call 2');
    expect(/^PJSIP\/1002-/.test(dial.DestChannel ?? ''), `call 2: the sticky Dial went to ${str(dial.DestChannel)}`);
    note(`no IVR, no queue: the router rang ${AGENT} first and bridged the caller when ${AGENT} answered`);
    const r = await c2;
    sippOk(r, 'call 2');
    expect(!ami.events.some((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === RETURNING && ami.at(e) >= t0), 'call 2 went through the queue');
    note(`caller hung up after ${secs(r.endedAt - ami.at(dial))}`);
    await waitChannelsGone();
  });

  // --- 3. a new caller abandons in the queue: 1002's phone rings, nobody picks up
  await timed('call 3 (new caller abandons in the queue)', async () => {
    await started.phone!.stop();
    started.phone = await startAgent(AGENT, { answer: false });
    await waitEndpointState(AGENT, 'online');
    note(`now ${AGENT}'s phone rings without anyone picking up; ${NEWCOMER} calls and gives up after ~3 s`);
    const from = router.lines.length;
    const t0 = Date.now();
    const c3 = call(DID, NEWCOMER, { talkMs: 3000 });
    const d = await decisionAfter(router, NEWCOMER, from);
    printDecision(d);
    expect(d.action === 'fallback' && d.reason === 'no_history', `call 3: expected fallback / no_history, got ${str(d.action)} / ${str(d.reason)}`);
    const join = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === NEWCOMER && ami.at(e) >= t0, 10_000, 'call 3 to join the queue');
    const ab = await router.waitForLog(
      (l) => l.event === 'abandon' && (l.abandon as { caller?: { raw?: string } })?.caller?.raw === NEWCOMER && router.lines.indexOf(l) >= from,
      15_000,
      `the router's abandon record for ${NEWCOMER}`,
    );
    printAbandon(ab);
    const a = ab.abandon as { source: string; queue?: string; waited_seconds: number };
    expect(a.source === 'queue' && a.queue === join.Queue, `call 3: expected a queue abandon in ${str(join.Queue)}, got ${JSON.stringify(a)}`);
    const r = await c3;
    sippOk(r, 'call 3');
    const rang = ami.events.filter((e) => e.Event === 'AgentCalled' && e.Uniqueid === join.Uniqueid).length;
    note(`queue ${str(join.Queue)} rang ${AGENT} ${rang === 1 ? 'once' : `${rang} times`}, nobody answered; the caller waited ${a.waited_seconds} s and hung up`);
    expect(ami.events.some((e) => e.Event === 'QueueCallerAbandon' && e.Uniqueid === join.Uniqueid), 'call 3: no QueueCallerAbandon from Asterisk');
    await waitChannelsGone();
  });

  // --- /metrics
  await timed('metrics', async () => {
    const get = (path: string) => fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
    const [health, ready, metrics] = await Promise.all([get('/healthz'), get('/readyz'), get('/metrics')]);
    expect(health.status === 200 && ready.status === 200 && metrics.status === 200, `HTTP: /healthz ${health.status}, /readyz ${ready.status}, /metrics ${metrics.status}`);
    const text = await metrics.text();
    const values = new Map<string, number>();
    for (const l of text.split('\n')) {
      const m = /^(\w+(?:\{[^}]*\})?) (\S+)$/.exec(l);
      if (m) values.set(m[1]!, Number(m[2]));
    }
    const shown: [series: string, expected?: number][] = [
      ['sticky_decisions_total{reason="no_history"}', 2],
      ['sticky_decisions_total{reason="sticky_agent"}', 1],
      ['sticky_lookup_seconds_count{source="miss"}', 2],
      ['sticky_lookup_seconds_count{source="memory"}'],
      ['sticky_lookup_seconds_count{source="journal"}'],
      ['sticky_ring_outcomes_total{outcome="answered"}', 1],
      ['sticky_abandons_total{source="queue"}', 1],
      ['sticky_calls_in_progress', 0],
      ['sticky_journal_backlog', 0],
    ];
    out(`\nMetrics: ${base}/metrics (Prometheus text; /healthz ${health.status}, /readyz ${ready.status}). A few lines from it now:\n`);
    const wrong: string[] = [];
    for (const [series, want] of shown) {
      const v = values.get(series);
      const aside = series === 'sticky_journal_backlog' ? '   # journal only: nothing to ship to Elasticsearch, so no backlog' : '';
      out(`  ${series} ${v ?? '(absent)'}${aside}`);
      if (v === undefined || (want !== undefined && v !== want)) wrong.push(`${series} is ${v ?? 'absent'}${want !== undefined ? `, expected ${want}` : ''}`);
    }
    const sticky = (values.get('sticky_lookup_seconds_count{source="memory"}') ?? 0) + (values.get('sticky_lookup_seconds_count{source="journal"}') ?? 0);
    if (sticky !== 1) wrong.push(`lookups answered by memory or the journal: ${sticky}, expected 1`);
    expect(wrong.length === 0, `metrics: ${wrong.join('; ')}`);
    out(`\n  try: curl -s ${base}/metrics | grep ^sticky_   ·   curl -s ${base}/v1/lookup/${encodeURIComponent(RETURNING)}`);
  });
}

// ---------------------------------------------------------------- cleanup
/** Our own children still running sipp (a caller in flight when the demo was stopped), by pid. */
function ownSippChildren(): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === process.pid && comm === 'sipp') pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const within = <T>(ms: number, p: Promise<T>): Promise<T | 'timeout'> =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);

/** `outcome` decides what happens to DATA_DIR: kept (with router.log) only after a failure. */
async function cleanup(outcome: 'ok' | 'failed' | 'interrupted'): Promise<void> {
  const success = outcome !== 'failed';
  const done: string[] = [];
  const attempt = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (err) {
      out(`  cleanup: ${what} failed: ${(err as Error).message}`);
    }
  };
  const { router, dataDir } = started;
  if (router) {
    await attempt('stopping the router', async () => {
      const r = await within(12_000, router.stop());
      if (r === 'timeout' && router.proc.pid) {
        router.proc.kill('SIGKILL');
        done.push(`router (pid ${router.proc.pid}) killed: it did not stop within 12 s`);
      } else done.push(`router (pid ${router.proc.pid}) stopped`);
    });
  }
  if (started.phone) await attempt("stopping agent 1002's phone", () => started.phone!.stop().then(() => done.push("agent 1002's phone stopped")));
  const stray = ownSippChildren();
  for (const pid of stray) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  if (stray.length) done.push(`${stray.length} sipp caller(s) stopped`);
  if (started.ami) await attempt('closing the AMI watch', () => within(3000, started.ami!.stop()));
  const harnessOurs = started.harness === 'ours' || (started.harness === 'starting' && runningPid() !== undefined && runningPid() !== started.pidBefore);
  if (harnessOurs) {
    await attempt('stopping the harness', () => down((m) => done.push(`harness: ${m}`)));
  } else if (started.harness === 'theirs' && outcome !== 'ok') {
    // Not our PBX: leave it up, but hang up the demo's own callers (a killed sipp sends no BYE).
    await attempt('hanging up the demo calls', async () => {
      const auth = `Basic ${Buffer.from(`${harnessEnv.ARI_USERNAME}:${harnessEnv.ARI_PASSWORD}`).toString('base64')}`;
      const chans = await ariGet<{ id: string; caller: { number: string } }[]>('/channels');
      const ours = chans.filter((c) => c.caller.number === RETURNING || c.caller.number === NEWCOMER);
      await Promise.all(ours.map((c) => fetch(`${harnessEnv.ARI_URL}/ari/channels/${encodeURIComponent(c.id)}`, { method: 'DELETE', headers: { authorization: auth } })));
      if (ours.length) done.push(`${ours.length} demo channel(s) hung up`);
    });
  }
  if (started.harness === 'theirs') done.push('harness left running (it was running before the demo)');
  rmSync(sippScratchDir(), { recursive: true, force: true });
  if (dataDir && (success || !router)) rmSync(dataDir, { recursive: true, force: true });
  else if (dataDir && router) {
    writeFileSync(join(dataDir, 'router.log'), router.lines.map((l) => JSON.stringify(l)).join('\n') + '\n' + router.stderr.join(''));
    done.push(`kept ${dataDir} (journal and router.log) for a look`);
  }
  out(`\ncleanup: ${done.length ? done.join('; ') : 'nothing was running'}`);
}

// ---------------------------------------------------------------- entry

function finish(code: number, outcome: 'ok' | 'failed' | 'interrupted'): Promise<never> {
  return (finishing ??= cleanup(outcome).then(
    () => process.exit(code),
    (err: Error) => {
      out(`cleanup failed: ${err.message}`);
      process.exit(code || 1);
    },
  ));
}

// `npm run demo | head` closes stdout early: a write error must not kill the demo
// before it has stopped what it started (the output is lost, the cleanup is not).
process.stdout.on('error', () => {});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (releaseHold) return releaseHold();
    if (finishing) return out(`demo: ${sig} again; still cleaning up`);
    out(`\ndemo: ${sig} during "${step}": stopping and cleaning up`);
    void finish(sig === 'SIGINT' ? 130 : 143, 'interrupted');
  });
}
process.on('unhandledRejection', (err) => {
  if (finishing) return;
  out(`demo: unexpected error: ${(err as Error)?.stack ?? String(err)}`);
  void finish(1, 'failed');
});

if (!prerequisites()) {
  rmSync(sippScratchDir(), { recursive: true, force: true });
  process.exit(2);
}
const t0 = Date.now();
demo().then(
  async () => {
    if (finishing) return;
    out(`\nDemo OK: all three calls went as expected in ${secs(Date.now() - t0)}.`);
    out('Timings:');
    for (const [what, ms] of timings) out(`  ${what.padEnd(44)} ${secs(ms)}`);
    if (hold && started.router) {
      out(`\nholding (--hold): the router stays up at ${httpBase}/metrics (and the PBX with it). Ctrl-C to stop and clean up.`);
      await new Promise<void>((r) => (releaseHold = r));
    } else out('(The router stops now; run `npm run demo -- --hold` to keep it up and browse /metrics.)');
    await finish(0, 'ok');
  },
  async (err: Error) => {
    if (finishing) return; // interrupted: the signal handler owns the exit
    // A programming error gets its stack; a step that did not happen, or a helper that gave up, its message.
    const bug = err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError;
    out(`\ndemo FAILED during "${step}": ${bug ? (err.stack ?? err.message) : err.message}`);
    const tail = started.router?.lines.filter((l) => l.level !== 'debug' && l.level !== 'trace').slice(-12) ?? [];
    if (tail.length) {
      out("the router's last log lines:");
      for (const l of tail) out(`  ${JSON.stringify(l).slice(0, 300)}`);
    }
    await finish(1, 'failed');
  },
);
