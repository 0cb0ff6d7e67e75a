// sipp peers for the benchmark: agent phones (UAS) that log which agent each caller
// reached, and customers (UAC) driven by an injection file. Each process is a child
// of the benchmark and is stopped by its own PID only.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const scenarios = resolve(import.meta.dirname, '..', 'sipp');

export interface TracedMessage {
  /** Epoch ms with sipp's microseconds (wall clock, same clock for every process). */
  at: number;
  direction: 'sent' | 'received';
  firstLine: string;
  headers: Record<string, string>;
}

/** Parses sipp's -trace_msg file (sent and received messages, microsecond stamps). */
export function parseTrace(text: string): TracedMessage[] {
  const out: TracedMessage[] = [];
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

export const userOf = (header: string | undefined) => /sip:([^@;> ]+)@/.exec(header ?? '')?.[1];

function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    proc.once('exit', () => res());
    proc.kill('SIGUSR1'); // sipp: dump stats, flush traces, exit
    setTimeout(() => proc.kill('SIGTERM'), 1000).unref();
    setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
  });
}

export interface PhoneLog {
  /** "INVITE <request-URI user> <From user>" lines, one per call the phone answered. */
  invites: { ruser: string; from: string }[];
  /** With trace: every message, timestamped. */
  messages: TracedMessage[];
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
  const args = ['-sf', join(scenarios, 'agent.xml'), '-i', '127.0.0.1', '-p', String(port), '-nostdin', '-timeout', '3600', '-trace_logs', '-log_file', logFile];
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
      await stopProc(proc);
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
  messages: TracedMessage[];
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
    '127.0.0.1:5060', '-sf', join(scenarios, 'caller.xml'), '-i', '127.0.0.1', '-inf', inf,
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
