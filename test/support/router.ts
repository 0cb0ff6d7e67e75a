// Runs the real router (`sticky-router start`) as a child process against the
// harness, and reads its JSON log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { harnessEnv } from './harness.js';
import { Feed } from './wait.js';

const root = resolve(import.meta.dirname, '..', '..');

export interface RouterProcess {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string[];
  dataDir: string;
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number, what?: string): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `netns`: run the router beside the second PBX (test/harness/peer.ts), in its network namespace. */
export async function startRouter(env: Record<string, string> = {}, opts: { waitReady?: boolean; netns?: string } = {}): Promise<RouterProcess> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'sticky-data-'));
  const node = [process.execPath, '--import', 'tsx', join(root, 'src/cli/main.ts'), 'start'];
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...node] : node;
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: root,
    // Plain pino JSON (LOG_FORMAT=json) keeps the assertions short; the ECS shape has its own unit test.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...harnessEnv, LOG_LEVEL: 'debug', LOG_FORMAT: 'json', HTTP_PORT: '0', DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  const feed = new Feed<Record<string, unknown>>({ label: 'router', process: proc, context: () => `stderr: ${stderr.join('').slice(-500)}` });
  const lines = feed.items;
  let buf = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let l: Record<string, unknown>;
      try {
        l = JSON.parse(line) as Record<string, unknown>;
      } catch {
        l = { unparsed: line };
      }
      feed.push(l);
    }
  });
  proc.stderr.on('data', (c: Buffer) => stderr.push(c.toString()));
  const r: RouterProcess = {
    proc,
    lines,
    stderr,
    dataDir,
    waitForLog: (pred, timeoutMs = 15_000, what = 'router log line') => feed.waitFor(pred, timeoutMs, what),
    stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
      return new Promise((resolve) => {
        proc.once('exit', (code) => resolve(code));
        proc.kill(signal);
      });
    },
  };
  if (opts.waitReady !== false) await r.waitForLog((l) => l.msg === 'sticky-router started', 30_000, 'router start');
  return r;
}
