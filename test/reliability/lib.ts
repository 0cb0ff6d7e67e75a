// Shared machinery of the reliability run: the scenario record (checks and
// figures that end up in REPORT.md), routers whose every byte of output is kept
// for the secrets scan, a steady call load, and readers over the AMI observer.
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AmiEvent } from '../../src/ami/connection.js';
import { cdrFromAmiEvent } from '../../src/cdr/from-ami.js';
import type { CdrDocument } from '../../src/cdr/schema.js';
import type { TestCluster } from '../es-double/cluster.js';
import type { AmiWatch } from '../support/ami-events.js';
import { harnessEnv } from '../support/harness.js';
import type { NotifySink } from '../support/notify-sink.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, type CallResult } from '../support/sipp.js';
import type { TcpTap } from '../support/tcp-tap.js';

export const projectRoot = resolve(import.meta.dirname, '..', '..');
/** `file:line` of the first line of `file` containing `needle`, read when the report is written (src/ may change between runs). */
export function ref(file: string, needle: string): string {
  try {
    const i = readFileSync(join(projectRoot, file), 'utf8').split('\n').findIndex((l) => l.includes(needle));
    return i >= 0 ? `${file}:${i + 1}` : file;
  } catch {
    return file;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- scenario record

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export type Status = 'PASS' | 'FAIL' | 'NOT RUN';

export class Scenario {
  readonly checks: Check[] = [];
  readonly figures: { label: string; value: string }[] = [];
  readonly notes: string[] = [];
  readonly bugs: string[] = [];
  error: string | undefined;
  durationMs = 0;
  ran = false;

  constructor(readonly id: string, readonly title: string) {}

  /** Records an assertion; a failed one fails the scenario (the run goes on to collect the rest). */
  check(name: string, ok: boolean, detail = ''): boolean {
    this.checks.push({ name, ok, detail });
    process.stderr.write(`  [${ok ? 'ok' : 'FAIL'}] ${this.id} ${name}${detail ? ` (${detail})` : ''}\n`);
    return ok;
  }

  figure(label: string, value: string | number): void {
    this.figures.push({ label, value: String(value) });
    process.stderr.write(`  [fig] ${this.id} ${label}: ${value}\n`);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  bug(text: string): void {
    this.bugs.push(text);
  }

  get status(): Status {
    if (!this.ran) return 'NOT RUN';
    return this.error || this.checks.some((c) => !c.ok) || this.checks.length === 0 ? 'FAIL' : 'PASS';
  }
}

// ---------------------------------------------------------------- run context

export interface Secrets {
  env: Record<string, string>;
  /** Every string that must never appear in a log line, with a name for the report. */
  needles: { name: string; value: string }[];
}

export interface Capture {
  name: string;
  stdout: Buffer[];
  stderr: Buffer[];
}

export interface Ctx {
  outDir: string;
  runId: string;
  cluster: TestCluster;
  amiTap: TcpTap;
  sink: NotifySink;
  observer: AmiWatch;
  secrets: Secrets;
  captures: Capture[];
  /** Every router process this run started (killed at the end if a timed-out scenario left one behind). */
  procs: import('node:child_process').ChildProcess[];
  /** Env every router of the run gets: harness credentials, AMI through the tap, ES with a key, every notifier on. */
  routerEnv(extra?: Record<string, string>): Record<string, string>;
}

export function makeSecrets(sinkUrl: string): Secrets {
  const tag = randomBytes(6).toString('hex');
  const esApiKey = `relEsApiKey-${tag}-${randomBytes(8).toString('hex')}`;
  const webhookSecret = `relWebhookSecret-${tag}-${randomBytes(8).toString('hex')}`;
  const slackToken = `relSlackToken${tag}${randomBytes(6).toString('hex')}`;
  const telegramToken = `987654321:relTelegramToken${tag}${randomBytes(6).toString('hex')}`;
  const httpToken = `relHttpToken-${tag}-${randomBytes(8).toString('hex')}`;
  const smtpPassword = `relSmtpPass-${tag}-${randomBytes(6).toString('hex')}`;
  const slackUrl = `${sinkUrl}/services/T0REL/B0REL/${slackToken}`;
  const env = {
    ES_API_KEY: esApiKey,
    NOTIFY_WEBHOOK_URL: `${sinkUrl}/webhook`,
    NOTIFY_WEBHOOK_SECRET: webhookSecret,
    SLACK_WEBHOOK_URL: slackUrl,
    TELEGRAM_BOT_TOKEN: telegramToken,
    TELEGRAM_CHAT_ID: '-1001234567890',
    TELEGRAM_API_URL: sinkUrl,
    // Nothing listens on port 9 (discard): every e-mail attempt fails and is logged.
    SMTP_URL: `smtp://reliability:${smtpPassword}@127.0.0.1:9`,
    NOTIFY_EMAIL_TO: 'supervisor@example.com',
    HTTP_TOKEN: httpToken,
    // Every abandon notifies (no short-abandon threshold): the scenarios count notifications.
    SHORT_ABANDON: 'PT0S',
  };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const needles = [
    { name: 'ARI_PASSWORD', value: harnessEnv.ARI_PASSWORD },
    { name: 'ARI basic-auth header (base64 user:pass)', value: b64(`${harnessEnv.ARI_USERNAME}:${harnessEnv.ARI_PASSWORD}`) },
    { name: 'AMI_PASSWORD', value: harnessEnv.AMI_PASSWORD },
    { name: 'ES_API_KEY', value: esApiKey },
    { name: 'ES_API_KEY (base64)', value: b64(esApiKey) },
    { name: 'NOTIFY_WEBHOOK_SECRET', value: webhookSecret },
    { name: 'SLACK_WEBHOOK_URL token', value: slackToken },
    { name: 'TELEGRAM_BOT_TOKEN', value: telegramToken },
    { name: 'TELEGRAM_BOT_TOKEN secret part', value: telegramToken.split(':')[1]! },
    { name: 'TELEGRAM_BOT_TOKEN (url-encoded)', value: encodeURIComponent(telegramToken) },
    { name: 'HTTP_TOKEN', value: httpToken },
    { name: 'SMTP_URL password', value: smtpPassword },
  ];
  return { env, needles };
}

/** Adds a secret (e.g. ES_PASSWORD of a sub-run) to the scan. */
export function addNeedle(ctx: Ctx, name: string, value: string): void {
  ctx.secrets.needles.push({ name, value });
  const b64 = Buffer.from(value).toString('base64');
  ctx.secrets.needles.push({ name: `${name} (base64)`, value: b64 });
}

/** The real router (`sticky-router start` under tsx), with stdout and stderr kept byte for byte. */
export async function spawnRouter(ctx: Ctx, name: string, env: Record<string, string> = {}, opts: { waitReady?: boolean } = {}): Promise<RouterProcess> {
  // startRouter spawns synchronously before its first await, so listeners added
  // here see every chunk: no I/O callback runs between spawn and this line.
  const r = await startRouter(ctx.routerEnv(env), { waitReady: false });
  const cap: Capture = { name, stdout: [], stderr: [] };
  ctx.captures.push(cap);
  ctx.procs.push(r.proc);
  r.proc.stdout!.on('data', (c: Buffer) => cap.stdout.push(c));
  r.proc.stderr!.on('data', (c: Buffer) => cap.stderr.push(c));
  if (opts.waitReady !== false) await r.waitForLog((l) => l.msg === 'sticky-router started', 45_000, `router ${name} start`);
  return r;
}

/** `sticky-router start` with exactly `env` (no defaults): for start-up failures. `builtMain`: a compiled main.js instead of tsx. */
export function runRouterOnce(ctx: Ctx, name: string, env: Record<string, string>, timeoutMs = 20_000, builtMain?: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  const args = builtMain ? [builtMain, 'start'] : ['--import', 'tsx', join(projectRoot, 'src/cli/main.ts'), 'start'];
  const proc = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const cap: Capture = { name, stdout: [], stderr: [] };
  ctx.captures.push(cap);
  ctx.procs.push(proc);
  proc.stdout!.on('data', (c: Buffer) => cap.stdout.push(c));
  proc.stderr!.on('data', (c: Buffer) => cap.stderr.push(c));
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(cap.stdout).toString('utf8'), stderr: Buffer.concat(cap.stderr).toString('utf8'), ms: Date.now() - t0 });
    });
  });
}

/**
 * Compiles src/ with the project's tsconfig.build.json into node_modules/.cache
 * (so packages resolve) and returns the CLI entry: `node main.js start` is what the
 * published bin runs, and starts in ~0.5 s instead of ~3 s under tsx.
 */
export function buildRouter(): string {
  const outDir = join(projectRoot, 'node_modules/.cache/sticky-reliability');
  const r = spawnSync(process.execPath, [join(projectRoot, 'node_modules/typescript/bin/tsc'), '-p', join(projectRoot, 'tsconfig.build.json'), '--outDir', outDir], { cwd: projectRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed: ${(r.stdout + r.stderr).slice(0, 800)}`);
  return join(outDir, 'src/cli/main.js');
}

export function freshDataDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `sticky-rel-${tag}-`));
}

/** Milliseconds since the epoch of a router log line (pino's isoTime). */
export const lineTime = (l: Record<string, unknown>): number => Date.parse(String(l.time ?? ''));

export async function stopRouter(r: RouterProcess | undefined): Promise<void> {
  if (!r) return;
  const t = setTimeout(() => r.proc.kill('SIGKILL'), 12_000);
  await r.stop();
  clearTimeout(t);
}

// ---------------------------------------------------------------- call load

export interface Placed {
  i: number;
  did: string;
  caller: string;
  startedAt: number;
  result?: CallResult;
  tag?: string;
}

/** Places one call every `everyMs` from `next(i)` (undefined skips a slot) until stopped. */
export class CallLoad {
  readonly placed: Placed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending = new Set<Promise<unknown>>();
  private i = 0;

  constructor(
    private readonly next: (i: number) => { did: string; caller: string; talkMs?: number; timeoutS?: number; tag?: string } | undefined,
    private readonly everyMs: number,
  ) {}

  start(): this {
    const tick = () => {
      const spec = this.next(this.i);
      if (spec) {
        const p: Placed = { i: this.i, did: spec.did, caller: spec.caller, startedAt: Date.now(), tag: spec.tag };
        this.placed.push(p);
        const pr = call(spec.did, spec.caller, { talkMs: spec.talkMs ?? 1000, timeoutS: spec.timeoutS ?? 30 }).then((r) => {
          p.result = r;
        });
        this.pending.add(pr);
        void pr.finally(() => this.pending.delete(pr));
      }
      this.i++;
    };
    tick();
    this.timer = setInterval(tick, this.everyMs);
    return this;
  }

  /** Stops placing calls and waits for the ones in flight. */
  async stop(): Promise<Placed[]> {
    clearInterval(this.timer);
    await Promise.all([...this.pending]);
    return this.placed;
  }
}

// ---------------------------------------------------------------- AMI observer readers

export interface ChannelView {
  uniqueid: string;
  caller: string;
  exten: string;
  createdAt: number;
  events: AmiEvent[];
}

/** Inbound trunk channels (Newchannel in from-trunk) seen by the observer from index `from` on, with their events. */
export function inboundChannels(observer: AmiWatch, from = 0): Map<string, ChannelView> {
  const byId = new Map<string, ChannelView>();
  const evs = observer.events;
  for (let k = from; k < evs.length; k++) {
    const e = evs[k]!;
    // Context, not Channel: a caller number with CR/LF can override fields that precede it (Channel does).
    if (e.Event === 'Newchannel' && e.Context === 'from-trunk' && e.Uniqueid) {
      byId.set(e.Uniqueid!, { uniqueid: e.Uniqueid!, caller: e.CallerIDNum ?? '', exten: e.Exten ?? '', createdAt: observer.at(e), events: [] });
    }
    const v = e.Uniqueid ? byId.get(e.Uniqueid) : undefined;
    if (v) v.events.push(e);
  }
  return byId;
}

/** When the channel entered Stasis and when it left it for a sticky-* context (observer's clock). */
export function stasisTiming(observer: AmiWatch, v: ChannelView): { stasisAt?: number; routedAt?: number; routedTo?: string; reason?: string; unavailable: boolean; queued: boolean } {
  const stasis = v.events.find((e) => e.Event === 'Newexten' && e.Application === 'Stasis');
  const routed = v.events.find((e) => e.Event === 'Newexten' && /^sticky-(ring|fallback)$/.test(e.Context ?? ''));
  const reasonSet = v.events.filter((e) => e.Event === 'VarSet' && /STICKY_REASON$/.test(e.Variable ?? '')).map((e) => e.Value ?? '');
  const unavailable = v.events.some((e) => (e.Event === 'VarSet' && /STICKY_REASON$/.test(e.Variable ?? '') && e.Value === 'router_unavailable') || (e.Event === 'Newexten' && e.Application === 'Set' && /STICKY_REASON=router_unavailable/.test(e.AppData ?? '')));
  const queued = v.events.some((e) => e.Event === 'QueueCallerJoin' && e.Queue === 'support');
  return {
    stasisAt: stasis ? observer.at(stasis) : undefined,
    routedAt: routed ? observer.at(routed) : undefined,
    routedTo: routed?.Context,
    reason: reasonSet.at(-1),
    unavailable,
    queued,
  };
}

/** Cdr events the observer saw (from index `from`), as the router would journal them, keyed by document id. */
export function producedCdrs(observer: AmiWatch, pred: (e: AmiEvent) => boolean, from = 0): Map<string, { e: AmiEvent; doc: CdrDocument; at: number }> {
  const out = new Map<string, { e: AmiEvent; doc: CdrDocument; at: number }>();
  const evs = observer.events;
  for (let k = from; k < evs.length; k++) {
    const e = evs[k]!;
    if (e.Event !== 'Cdr' || !pred(e)) continue;
    const doc = cdrFromAmiEvent(e, { minTalkSeconds: () => 1 });
    if (doc) out.set(doc.id, { e, doc, at: observer.at(e) });
  }
  return out;
}

export interface EsAccounting {
  produced: number;
  inEs: number;
  lost: string[];
  extra: string[];
  dupIds: number;
  dupUniqueid: number;
}

/** Compares the CDRs Asterisk produced with the CDR documents in the double under `prefix` (abandon indices excluded). */
export function esAccounting(ctx: Ctx, prefix: string, produced: Map<string, { doc: CdrDocument }>, belongs: (d: Record<string, unknown>) => boolean, seeded: Set<string> = new Set()): EsAccounting {
  const docs = ctx.cluster.double!.docs(`${prefix}-*`).filter((d) => !d.index.startsWith(`${prefix}-abandons`) && !seeded.has(d.id) && belongs(d.source));
  const ids = docs.map((d) => d.id);
  const idSet = new Set(ids);
  const lost = [...produced.keys()].filter((id) => !idSet.has(id));
  const extra = [...idSet].filter((id) => !produced.has(id));
  // Per Asterisk uniqueid: ES must hold exactly as many CDRs as Asterisk produced
  // for it (a queue call with ringall has one CDR per member rung, same uniqueid).
  const want = new Map<string, number>();
  for (const { doc } of produced.values()) want.set(doc.asterisk.uniqueid, (want.get(doc.asterisk.uniqueid) ?? 0) + 1);
  const got = new Map<string, number>();
  for (const d of docs) {
    const u = String((d.source.asterisk as { uniqueid?: string } | undefined)?.uniqueid ?? '');
    got.set(u, (got.get(u) ?? 0) + 1);
  }
  let dupUniqueid = 0;
  for (const [u, n] of got) if (n > (want.get(u) ?? 0)) dupUniqueid += n - (want.get(u) ?? 0);
  return { produced: produced.size, inEs: docs.length, lost, extra, dupIds: ids.length - idSet.size, dupUniqueid };
}

export function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const fmtMs = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? 'n/a' : `${Math.round(n)} ms`);

export function decisions(r: RouterProcess, from = 0): Record<string, unknown>[] {
  return r.lines.slice(from).filter((l) => l.event === 'decision');
}

/** Waits until `pred()` holds or the deadline passes; returns whether it held. */
export async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Number pools: +1 202 5SS NNNN is a possible NANP number for any digits. */
export const nanp = (scenario: number, n: number) => `+12025${String(scenario).padStart(2, '0')}${String(n).padStart(4, '0')}`;
