// Real SIP peers, the one sipp library of the tests, the reliability suite, the demo
// and the benchmark: sipp UAS processes play agents' and customers' phones, sipp UAC
// processes play customers calling a DID through the trunk. Every process is a child
// of the caller and is stopped by its own PID only.
//   test/sipp/        scenarios for single calls (integration tests, reliability, demo)
//   test/bench/sipp/  log-line scenarios for load: phones log each INVITE, callers
//                     read an injection file (benchmark)
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const scenarios = resolve(import.meta.dirname, '..', 'sipp');
const loadScenarios = resolve(import.meta.dirname, '..', 'bench', 'sipp');
const work = mkdtempSync(join(tmpdir(), 'sticky-sipp-'));

export interface SipMessage {
  /** Epoch ms with sipp's microseconds (wall clock, the same clock for every process). */
  at: number;
  direction: 'sent' | 'received';
  firstLine: string;
  /** Lower-case names; the first of a repeated header. */
  headers: Record<string, string>;
}

export interface Agent {
  ext: string;
  /** Stops the phone and returns what it received (sipp flushes its trace only on exit). */
  stop(): Promise<AgentTrace>;
}

export interface AgentTrace {
  messages: SipMessage[];
  /** INVITEs this phone received (qualify OPTIONS excluded). */
  invites: SipMessage[];
}

/**
 * A media scenario (caller-media.xml, agent-media.xml) with its pcap baked in: sipp
 * loads the pcap with the scenario, so the path cannot be a -key.
 */
function mediaScenario(name: string, pcap: string): string {
  const file = join(work, `${name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.xml`);
  writeFileSync(file, readFileSync(join(scenarios, `${name}.xml`), 'utf8').replaceAll('@PCAP@', pcap));
  return file;
}

/** sipp's RTP port (-mp) for `pcap` phones: below Asterisk's rtp.conf range 10000-20000, apart from `audioDir`'s 6100/620N. */
const mediaPort = (n: number) => ['-mi', '127.0.0.1', '-mp', String(6000 + n * 4)];

/**
 * Starts a phone for agent 100N on 127.0.0.1:507N. `answer: false` rings until CANCEL.
 * `audioDir`: the phone plays audioDir/agent-audio.pcap once it answers (real RTP,
 * from media port 6200 + N).
 * `pcap`: after answering, the phone sends that RTP stream to Asterisk (play_pcap_audio).
 */
export async function startAgent(ext: string, opts: { answer?: boolean; ringMs?: number; audioDir?: string; pcap?: string } = {}): Promise<Agent> {
  const n = Number(ext.slice(-1));
  const scenario = opts.pcap ? mediaScenario('agent-media', opts.pcap) : join(scenarios, opts.answer === false ? 'agent-noanswer.xml' : opts.audioDir ? 'agent-audio.xml' : 'agent.xml');
  const media = opts.pcap ? mediaPort(n) : opts.audioDir ? ['-mp', String(6200 + 2 * n)] : [];
  const uas = await startUas(`agent ${ext}'s sipp`, 5070 + n, scenario, opts.ringMs, media, opts.audioDir);
  return { ext, stop: uas.stop };
}

/** A sipp UAS that rings for ringMs and answers (or not, per scenario); its trace is read on stop. `media`: RTP port arguments; `cwd`: where its pcap is. */
async function startUas(label: string, port: number, scenario: string, ringMs = 200, media: string[] = [], cwd?: string): Promise<{ stop: () => Promise<AgentTrace> }> {
  const file = join(work, `uas-${port}-${Date.now()}.msg`);
  const args = ['-sf', scenario, '-i', '127.0.0.1', '-p', String(port), ...media, '-nostdin', '-trace_msg', '-message_file', file, '-key', 'ring_ms', String(ringMs), '-timeout', '600'];
  const proc = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd ? { cwd } : {}) });
  let err = '';
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // sipp exits at once when its port is taken: fail here, not in a confusing assertion later.
  await new Promise((r) => setTimeout(r, 300));
  if (proc.exitCode !== null) throw new Error(`${label} exited (${proc.exitCode}) on port ${port}: ${err.trim().slice(0, 300)}`);
  let trace: AgentTrace | undefined;
  return {
    stop: async () => {
      if (trace) return trace;
      await stopProc(proc);
      const messages = existsSync(file) ? parseTrace(readFileSync(file, 'utf8')) : [];
      trace = { messages, invites: messages.filter((m) => m.firstLine.startsWith('INVITE ')) };
      return trace;
    },
  };
}

export interface CallResult {
  exitCode: number;
  /** sipp's error log and the SIP messages it saw, for failure messages. */
  errors: string;
  trace: string;
  startedAt: number;
  endedAt: number;
}

/**
 * A customer calls `did` from `caller`. talkMs after answer, or cancelAfterMs after ringing starts.
 * `audioDir`: plays audioDir/caller-audio.pcap after the answer (real RTP, from media port 6100).
 * `pcap`: while talking, the caller sends that RTP stream to Asterisk (play_pcap_audio).
 * `netns`: call from (and into the PBX of) that network namespace.
 */
export async function call(did: string, caller: string, opts: { talkMs?: number; cancelAfterMs?: number; localPort?: number; timeoutS?: number; audioDir?: string; pcap?: string; netns?: string } = {}): Promise<CallResult> {
  const scenario = opts.pcap ? mediaScenario('caller-media', opts.pcap) : join(scenarios, opts.cancelAfterMs !== undefined ? 'caller-cancel.xml' : opts.audioDir ? 'caller-audio.xml' : 'caller.xml');
  // Never sipp's default: without -p it binds the first free port from 5060 up, so a call
  // placed while Asterisk restarts takes 5060 and the new Asterisk runs without SIP.
  const port = opts.localPort ?? (await freeUdpPort());
  const args = [
    '127.0.0.1:5060', '-sf', scenario, '-i', '127.0.0.1', '-p', String(port), ...(opts.pcap ? mediaPort(30) : []),
    '-s', did, '-key', 'caller', caller, '-key', 'talk_ms', String(opts.talkMs ?? 1000), '-key', 'wait_ms', String(opts.cancelAfterMs ?? 0),
    '-m', '1', '-nostdin', '-timeout', String(opts.timeoutS ?? 60), '-timeout_error',
    ...(opts.audioDir ? ['-mp', '6100'] : []),
  ];
  const tag = `call-${caller.replace(/\W/g, '')}-${Date.now()}`;
  const errFile = join(work, `${tag}.err`);
  const msgFile = join(work, `${tag}.msg`);
  args.push('-trace_err', '-error_file', errFile, '-trace_msg', '-message_file', msgFile);
  const startedAt = Date.now();
  // `netns`: a customer of the second PBX (test/harness/peer.ts), calling its 127.0.0.1:5060.
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, 'sipp', ...args] : ['sipp', ...args];
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', ...(opts.audioDir ? { cwd: opts.audioDir } : {}) });
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  return new Promise((resolve) =>
    proc.on('exit', (code) => resolve({ exitCode: code ?? -1, startedAt, endedAt: Date.now(), errors: read(errFile).slice(-1500), trace: read(msgFile) })),
  );
}

/** A UDP port the kernel says is free now (from its ephemeral range, far from 5060 and RTP's 10000-20000). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}

function stopProc(proc: ChildProcess, graceMs = 500): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGUSR1'); // sipp: dump stats and exit, flushing its trace files
    setTimeout(() => proc.kill('SIGTERM'), graceMs).unref();
    setTimeout(() => proc.kill('SIGKILL'), graceMs * 4).unref();
  });
}

/** Parses sipp's -trace_msg file: blocks headed by a dashed timestamp line, sent and received. */
export function parseTrace(text: string): SipMessage[] {
  const out: SipMessage[] = [];
  const blocks = text.split(/^-{20,} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d+)\s*$/m);
  for (let i = 1; i + 3 < blocks.length; i += 4) {
    const [date, time, frac, body = ''] = blocks.slice(i, i + 4);
    const lines = body.split('\n').map((l) => l.replace(/\r$/, ''));
    const head = lines.find((l) => l.trim()) ?? '';
    const direction = /message sent/.test(head) ? 'sent' : /message received/.test(head) ? 'received' : undefined;
    if (!direction) continue;
    const start = lines.findIndex((l, idx) => idx > 0 && /^(?:[A-Z]+ sip:|SIP\/2\.0 )/.test(l));
    if (start < 0) continue;
    const headers: Record<string, string> = {};
    for (const l of lines.slice(start + 1)) {
      if (l === '') break;
      const c = l.indexOf(':');
      if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] ??= l.slice(c + 1).trim();
    }
    const at = Date.parse(`${date}T${time}Z`) + Number(`0.${frac}`) * 1000;
    out.push({ at, direction, firstLine: lines[start]!, headers });
  }
  return out;
}

export interface Phone {
  port: number;
  /** Stops the phone and returns what it received (sipp flushes its trace only on exit). */
  stop(): Promise<AgentTrace>;
}

/**
 * A customer's phone behind the trunk: a sipp UAS on 127.0.0.1:5090 (the trunk AOR's
 * contact), where agents' outbound calls arrive. Rings for ringMs, answers, waits for
 * the BYE; any number of calls. `answer: false` rings until the caller gives up (CANCEL).
 */
export async function startCustomerPhone(opts: { port?: number; ringMs?: number; answer?: boolean } = {}): Promise<Phone> {
  const port = opts.port ?? 5090;
  const uas = await startUas("customer phone's sipp", port, join(scenarios, opts.answer === false ? 'agent-noanswer.xml' : 'agent.xml'), opts.ringMs);
  return { port, stop: uas.stop };
}

/**
 * Agent `ext` dials `number` from their phone: an INVITE to Asterisk with From user
 * `ext` (PJSIP identifies the endpoint by username first), so it enters
 * `from-agents` and goes out through the trunk. Sent from localPort (default
 * 5080 + N for 100N), not the agent's UAS port 507N, so the agent's phone can stay
 * up for inbound calls. talkMs counts from the customer's answer.
 */
export function agentDialsOut(ext: string, number: string, opts: { talkMs?: number; localPort?: number; timeoutS?: number } = {}): Promise<CallResult> {
  return call(number, ext, { talkMs: opts.talkMs ?? 2500, localPort: opts.localPort ?? 5080 + Number(ext.slice(-1)), timeoutS: opts.timeoutS ?? 30 });
}

/**
 * The scratch directory this module writes sipp's trace and error files to (made
 * when the module is first imported). A one-shot script such as the demo removes it
 * when it is done; the test runs leave it to the OS's tmp cleaning.
 */
export function sippScratchDir(): string {
  return work;
}

// --- Load (benchmark): phones that log each INVITE, callers driven by an injection file.

export const userOf = (header: string | undefined) => /sip:([^@;> ]+)@/.exec(header ?? '')?.[1];

export interface PhoneLog {
  /** "INVITE <request-URI user> <From user>" lines, one per call the phone answered. */
  invites: { ruser: string; from: string }[];
  /** With trace: every message, timestamped. */
  messages: SipMessage[];
}

export interface AgentPhone {
  port: number;
  pid: number;
  /** The INVITE log so far (sipp writes it line by line). */
  invitesSoFar(): { ruser: string; from: string }[];
  stop(): Promise<PhoneLog>;
}

/** A sipp UAS on 127.0.0.1:port answering every call at once. */
export async function startPhone(port: number, dir: string, opts: { trace?: boolean } = {}): Promise<AgentPhone> {
  const tag = `phone-${port}-${Date.now()}`;
  const logFile = join(dir, `${tag}.log`);
  const msgFile = join(dir, `${tag}.msg`);
  const args = ['-sf', join(loadScenarios, 'agent.xml'), '-i', '127.0.0.1', '-p', String(port), '-nostdin', '-timeout', '3600', '-trace_logs', '-log_file', logFile];
  if (opts.trace) args.push('-trace_msg', '-message_file', msgFile);
  const proc = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  await new Promise((r) => setTimeout(r, 300));
  if (proc.exitCode !== null) throw new Error(`sipp phone on ${port} exited (${proc.exitCode}): ${err.trim().slice(0, 300)}`);
  let result: PhoneLog | undefined;
  return {
    port,
    pid: proc.pid!,
    invitesSoFar: () => parseLogLines(logFile, 'INVITE').map(([ruser = '', from = '']) => ({ ruser, from })),
    async stop() {
      if (result) return result;
      await stopProc(proc, 1000);
      result = {
        invites: parseLogLines(logFile, 'INVITE').map(([ruser = '', from = '']) => ({ ruser, from })),
        messages: opts.trace && existsSync(msgFile) ? parseTrace(readFileSync(msgFile, 'utf8')) : [],
      };
      return result;
    },
  };
}

function parseLogLines(file: string, word: string): string[][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${word} `))
    .map((l) => l.slice(word.length + 1).trim().split(/\s+/));
}

export interface CallLine {
  caller: string;
  did: string;
  talkMs: number;
  gapMs: number;
}

export interface CallerRun {
  exitCode: number | null;
  successful: number;
  failed: number;
  created: number;
  /** Callers whose call completed (BYE answered), with sipp's clock tick (ms since its start). */
  ok: { caller: string; tick: number }[];
  /** Call start and 200 OK ticks by caller (sipp's clock, ms). */
  starts: Map<string, number>;
  answers: Map<string, number>;
  messages: SipMessage[];
  wallMs: number;
  stdoutTail: string;
}

/**
 * Places the calls of `lines` through the trunk (127.0.0.1:5060). rate calls/s,
 * at most `limit` at once (limit 1 = strictly sequential).
 */
export function runCallers(lines: CallLine[], dir: string, opts: { rate: number; limit: number; trace?: boolean; timeoutS: number }): Promise<CallerRun> {
  const tag = `callers-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const inf = join(dir, `${tag}.csv`);
  writeFileSync(inf, `SEQUENTIAL\n${lines.map((l) => `${l.caller};${l.did};${l.talkMs};${l.gapMs};`).join('\n')}\n`);
  const logFile = join(dir, `${tag}.log`);
  const msgFile = join(dir, `${tag}.msg`);
  const args = [
    '127.0.0.1:5060', '-sf', join(loadScenarios, 'caller.xml'), '-i', '127.0.0.1', '-inf', inf,
    '-r', String(opts.rate), '-rp', '1000', '-l', String(opts.limit), '-m', String(lines.length),
    '-nostdin', '-timeout', String(opts.timeoutS), '-recv_timeout', '15000', '-trace_logs', '-log_file', logFile,
  ];
  if (opts.trace) args.push('-trace_msg', '-message_file', msgFile);
  const t0 = Date.now();
  const proc = spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  proc.stderr.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  return new Promise((res) =>
    proc.on('exit', (code) => {
      const counter = (name: string) => {
        const m = new RegExp(`${name}\\s*\\|[^|]*\\|\\s*(\\d+)`).exec(out);
        return m ? Number(m[1]) : NaN;
      };
      res({
        exitCode: code,
        successful: counter('Successful call'),
        failed: counter('Failed call'),
        created: counter('Outgoing calls created'),
        ok: parseLogLines(logFile, 'OK').map(([caller = '', tick = '0']) => ({ caller, tick: Number(tick) })),
        starts: new Map(parseLogLines(logFile, 'START').map(([caller = '', tick = '0']) => [caller, Number(tick)])),
        answers: new Map(parseLogLines(logFile, 'ANS').map(([caller = '', tick = '0']) => [caller, Number(tick)])),
        messages: opts.trace && existsSync(msgFile) ? parseTrace(readFileSync(msgFile, 'utf8')) : [],
        wallMs: Date.now() - t0,
        stdoutTail: out.slice(-3000),
      });
    }),
  );
}
