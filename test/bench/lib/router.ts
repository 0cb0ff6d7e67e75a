// Runs the real router (`sticky-router start`) against the harness, as users run it:
// the built dist/ (npm run build; what the systemd unit and the image start), or the
// sources through tsx when BENCH_ROUTER_FROM=src (tsx's loader adds memory and start-up
// time no installed router pays), with the node flags and environment variables of the bin's shebang. Runs it against the harness with production logging (LOG_LEVEL=info, ECS lines), and collects its
// decision records and its PID (for /proc/<pid>/stat CPU accounting).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { resolve, join } from 'node:path';
import { harnessEnv } from '../../harness/credentials.js';
import { Feed } from '../../support/wait.js';
import { shebangEnv, shebangNodeFlags } from '../../support/node-flags.js';

const root = resolve(import.meta.dirname, '..', '..', '..');

/** A decision record, whichever log shape (ECS or plain pino JSON) the router writes. */
export interface DecisionLine {
  at: number;
  caller: string;
  /** The decision's action (ring, fallback): set when deciding, never changed by the ring outcome. */
  action: string | undefined;
  /** The final reason: the decision's, then updated by the ring outcome. */
  reason: string;
  agent: string | undefined;
  source: string | undefined;
  lookupMs: number | undefined;
  decideMs: number | undefined;
  /** StasisStart frame arrived → continue issued, inside the router (0.001 ms). */
  routerMs: number | undefined;
  ring: string | undefined;
}

export interface BenchRouter {
  pid: number;
  decisions: DecisionLine[];
  warnings: string[];
  waitFor(pred: (l: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Which router the bench runs: dist (default, needs `npm run build`) or src. */
export const routerFrom = (): 'dist' | 'src' => (process.env.BENCH_ROUTER_FROM === 'src' ? 'src' : 'dist');

const msgOf = (l: Record<string, unknown>) => (l.message ?? l.msg) as string | undefined;

function toDecision(l: Record<string, unknown>): DecisionLine | undefined {
  if (msgOf(l) !== 'decision') return undefined;
  const caller = (l.caller as { raw?: string } | undefined)?.raw ?? '';
  const lookup = (l.lookup ?? {}) as { source?: string; ms?: number };
  const agent = (l['sticky.agent'] ?? (l.sticky as { agent?: string } | undefined)?.agent ?? (typeof l.agent === 'string' ? l.agent : undefined)) as string | undefined;
  const ring = (l.ring as { outcome?: string } | undefined)?.outcome;
  const action = (l['sticky.action'] ?? l.action) as string | undefined;
  return { at: Date.now(), caller, action, reason: String(l.reason), agent, source: lookup.source, lookupMs: lookup.ms, decideMs: l.decideMs as number | undefined, routerMs: l.routerMs as number | undefined, ring };
}

/** env: the router's environment on top of the harness's; logFile: where to keep its stdout (JSON lines). */
export async function startBenchRouter(env: Record<string, string>, logFile?: string): Promise<BenchRouter> {
  const fromSrc = routerFrom() === 'src';
  const main = fromSrc ? join(root, 'src/cli/main.ts') : join(root, 'dist/src/cli/main.js');
  // BENCH_NODE_FLAGS: extra node/V8 flags for an A/B run (space-separated), after the shebang's.
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const args = [...shebangNodeFlags(main), ...extra, ...(fromSrc ? ['--import', 'tsx'] : []), main, 'start'];
  const proc: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    // The shebang's VAR=value pairs first: a bench that varies one (mem-calls' MEM_ROUTER_ENV) overrides it.
    env: { ...shebangEnv(main), PATH: process.env.PATH, HOME: process.env.HOME, ...harnessEnv, LOG_LEVEL: 'info', HTTP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const decisions: DecisionLine[] = [];
  const warnings: string[] = [];
  let buf = '';
  let stderr = '';
  const recent = new Feed<Record<string, unknown>>({ label: 'router', process: proc, keep: 500, context: () => `stderr: ${stderr.slice(-500)}` });
  const out = logFile ? createWriteStream(logFile) : undefined;
  proc.stdout!.on('data', (chunk: Buffer) => {
    out?.write(chunk);
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let l: Record<string, unknown>;
      try {
        l = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const d = toDecision(l);
      if (d) decisions.push(d);
      else {
        recent.push(l);
        const level = (l['log.level'] ?? l.level) as string | undefined;
        if (level === 'warn' || level === 'error' || level === 'fatal') warnings.push(`${msgOf(l)} ${JSON.stringify(l.err ?? l['error.message'] ?? '')}`.slice(0, 300));
      }
    }
  });
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()).slice(-4000));
  const r: BenchRouter = {
    pid: proc.pid!,
    decisions,
    warnings,
    // Non-decision lines only (decisions are counted, not waited for).
    waitFor: (pred, timeoutMs, what) => recent.waitFor(pred, timeoutMs, what),
    stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
      return new Promise((res) => {
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 12_000).unref();
      });
    },
  };
  await r.waitFor((l) => msgOf(l) === 'sticky-router started', 30_000, 'router start');
  await r.waitFor((l) => msgOf(l) === 'agent states loaded', 10_000, 'agent states');
  return r;
}

export { msgOf };
