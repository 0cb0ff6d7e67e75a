// npm run test:reliability — the reliability scenarios of issue 7 on the real
// harness, one after the other, each asserted, figures into REPORT.md.
// Run it in a network namespace of your own on a shared machine:
//   test/harness/netns-run.sh NAME npm run test:reliability
// ONLY=1,3 runs a subset (the secrets scan, 6, then covers only what ran);
// KEEP_HARNESS=1 leaves Asterisk running afterwards.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { testCluster } from '../es-double/cluster.js';
import { cli, down, harnessSupported, up } from '../harness/asterisk.js';
import { watchAmi } from '../support/ami-events.js';
import { backfillEnv, hangupAllChannels, harnessEnv, waitEndpointState } from '../support/harness.js';
import { startNotifySink } from '../support/notify-sink.js';
import { startAgent, type Agent } from '../support/sipp.js';
import { startTcpTap } from '../support/tcp-tap.js';
import { makeSecrets, Scenario, sleep, waitUntil, type Ctx } from './lib.js';
import { writeReport } from './report.js';
import { s1Restarts } from './s1-restarts.js';
import { s2EsOutage } from './s2-es-outage.js';
import { s3AmiBlackhole } from './s3-ami-blackhole.js';
import { s4Sigkill } from './s4-sigkill.js';
import { s5BadInput } from './s5-bad-input.js';
import { s6Secrets } from './s6-secrets.js';
import { s7Config, type ConfigRowResult } from './s7-config.js';
import { s8DiskFull } from './s8-disk-full.js';
import { s9RouterDown } from './s9-router-down.js';

const TOTAL_BUDGET_MS = 17 * 60_000;
const reportPath = resolve(import.meta.dirname, 'REPORT.md');
const log = (m: string) => process.stderr.write(`reliability: ${m}\n`);

const startedAt = new Date();
const runId = `rel${startedAt.toISOString().replace(/\D/g, '').slice(2, 14)}`;
const outDir = join('/tmp', `sticky-reliability-${runId}`);
mkdirSync(outDir, { recursive: true });

const scenarios = [
  new Scenario('1', 'Asterisk restarted 5 times while calls flow'),
  new Scenario('2', 'Elasticsearch unreachable for 60 s under steady calls'),
  new Scenario('3', 'AMI socket silently dropped (blackholed, not closed)'),
  new Scenario('4', 'Router killed with SIGKILL during calls'),
  new Scenario('5', 'Bad input: 500+ hostile caller IDs as SIP From headers'),
  new Scenario('6', 'Secrets never appear in any log line of the whole run'),
  new Scenario('7', 'Every invalid environment value stops start-up (exit 78) before connecting'),
  new Scenario('8', 'DATA_DIR on a full disk while calls flow'),
  new Scenario('9', 'Calls while the router is down (stopped), with queue abandons'),
];
const only = process.env.ONLY ? new Set(process.env.ONLY.split(',').map((s) => s.trim())) : undefined;
let configRows: ConfigRowResult[] | undefined;
let aborted: string | undefined;
let asteriskVersion = 'Asterisk (unknown version)';

function finish(code: number): never {
  writeReport(reportPath, { startedAt, durationMs: Date.now() - startedAt.getTime(), runId, outDir, host: `${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`, asterisk: asteriskVersion, node: process.version, aborted }, scenarios, configRows);
  log(`report written to ${reportPath}`);
  for (const s of scenarios) log(`${s.id} ${s.status.padEnd(7)} ${s.title}`);
  process.exit(code);
}

async function main(): Promise<number> {
  const supported = harnessSupported();
  if (!supported.ok) {
    aborted = `the Asterisk harness cannot run here: ${supported.why}`;
    log(aborted);
    return 1;
  }
  // The reliability run needs fault injection: always the double, never ES_TEST_NODE.
  delete process.env.ES_TEST_NODE;
  const t0 = Date.now();
  await up(log, { fresh: true });
  asteriskVersion = cli('core show version').trim().split('\n').find((l) => l.startsWith('Asterisk')) ?? asteriskVersion;
  log(`harness up in ${Date.now() - t0} ms: ${asteriskVersion}`);
  const cluster = await testCluster();
  const amiTap = await startTcpTap(Number(harnessEnv.AMI_PORT));
  const sink = await startNotifySink({
    failFirst: {
      // Receivers failing the way real ones do: a busy webhook, a misrouted Slack URL
      // whose 404 page echoes the request path (Express' default), Telegram 401.
      webhook: [{ status: 503, body: 'Service Unavailable' }],
      slack: [{ status: 404, body: 'Cannot POST {path}' }],
      telegram: [{ status: 401, body: '{"ok":false,"error_code":401,"description":"Unauthorized: POST {path}"}' }],
    },
  });
  const observer = await watchAmi();
  const secrets = makeSecrets(sink.url);
  const ctx: Ctx = {
    outDir,
    runId,
    cluster,
    amiTap,
    sink,
    observer,
    secrets,
    captures: [],
    procs: [],
    routerEnv: (extra = {}) => ({
      ...harnessEnv,
      ...backfillEnv,
      AMI_PORT: String(amiTap.port),
      ES_NODE: cluster.node,
      ...secrets.env,
      ...extra,
    }),
  };
  const agents: Agent[] = [];
  try {
    for (const a of ['1001', '1002', '1003']) agents.push(await startAgent(a, { ringMs: 200 }));
    await Promise.all(['1001', '1002', '1003'].map((a) => waitEndpointState(a, 'online', 15_000)));
    const plan: [string, number, (c: Ctx, s: Scenario) => Promise<unknown>][] = [
      ['7', 120_000, async (c, s) => (configRows = await s7Config(c, s))],
      ['1', 200_000, s1Restarts],
      ['2', 200_000, s2EsOutage],
      ['3', 130_000, s3AmiBlackhole],
      ['4', 150_000, s4Sigkill],
      ['9', 150_000, s9RouterDown],
      ['8', 120_000, s8DiskFull],
      ['5', 240_000, s5BadInput],
      ['6', 150_000, s6Secrets],
    ];
    for (const [id, limit, fn] of plan) {
      const sc = scenarios.find((s) => s.id === id)!;
      if (only && !only.has(id)) continue;
      const left = TOTAL_BUDGET_MS - (Date.now() - startedAt.getTime());
      if (left < 30_000) {
        sc.error = 'not started: the run\'s time budget was used up';
        sc.ran = true;
        continue;
      }
      log(`scenario ${id}: ${sc.title}`);
      await waitUntil(() => observer.ami.connected, 15_000);
      await hangupAllChannels().catch(() => undefined);
      sc.ran = true;
      const s0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          fn(ctx, sc),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${Math.min(limit, left) / 1000} s`)), Math.min(limit, left));
          }),
        ]);
      } catch (err) {
        sc.error = (err as Error).stack?.split('\n').slice(0, 3).join(' ') ?? String(err);
        log(`scenario ${id} error: ${sc.error}`);
      } finally {
        clearTimeout(timer);
        sc.durationMs = Date.now() - s0;
        // A scenario that threw or timed out may have left its router running.
        for (const p of ctx.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      }
      await sleep(500);
    }
  } finally {
    for (const a of agents) await a.stop().catch(() => undefined);
    for (const p of ctx.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const cap of ctx.captures) {
      const safe = cap.name.replace(/[^A-Za-z0-9_.+=-]+/g, '_').slice(0, 120);
      writeFileSync(join(outDir, `router-${safe}.log`), Buffer.concat([...cap.stdout, Buffer.from('\n--- stderr ---\n'), ...cap.stderr]));
    }
    await observer.stop().catch(() => undefined);
    await amiTap.close().catch(() => undefined);
    await sink.close().catch(() => undefined);
    await cluster.close().catch(() => undefined);
    if (!process.env.KEEP_HARNESS) await down(log).catch(() => undefined);
  }
  return scenarios.every((s) => s.status === 'PASS' || (only && !only.has(s.id))) ? 0 : 1;
}

const watchdog = setTimeout(() => {
  aborted = `the whole run exceeded ${TOTAL_BUDGET_MS / 60_000} min`;
  void (process.env.KEEP_HARNESS ? Promise.resolve() : down(log).catch(() => undefined)).finally(() => finish(1));
}, TOTAL_BUDGET_MS + 60_000);
watchdog.unref();

main().then(
  (code) => finish(code),
  (err: Error) => {
    aborted = err.stack ?? err.message;
    log(aborted);
    finish(1);
  },
);
