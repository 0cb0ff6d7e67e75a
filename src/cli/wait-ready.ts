// `sticky-router wait-ready`: waits until the router on HTTP_HOST:HTTP_PORT routes calls.
// The systemd unit's ExecStartPost: Node cannot send sd_notify without a native addon,
// so readiness is read from the router's own /readyz instead. Ready means the Stasis
// app is registered (ARI) and AMI is logged in; Elasticsearch being down is reported
// but does not fail the start, because calls are still routed from the journal.
import type { Command } from 'commander';
import { configOrExit } from './config-exit.js';
import { fail } from './es-env.js';

interface ReadyBody {
  checks?: Record<string, { ok: boolean; detail?: string }>;
}

/** A wildcard bind address is reached on loopback. */
export function probeUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}/readyz`;
}

export type ReadyState = { ready: true; summary: string } | { ready: false; summary: string };

export async function readyState(url: string, timeoutMs = 2000): Promise<ReadyState> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as ReadyBody;
    const checks = body.checks ?? {};
    const summary = Object.entries(checks)
      .map(([name, c]) => `${name} ${c.ok ? 'ok' : 'not ready'}${c.detail ? ` (${c.detail})` : ''}`)
      .join(', ');
    return { ready: checks.ari?.ok === true && checks.ami?.ok === true, summary: summary || `HTTP ${res.status}` };
  } catch (err) {
    return { ready: false, summary: `${url}: ${(err as Error).message}` };
  }
}

export function registerWaitReady(program: Command): void {
  program
    .command('wait-ready')
    .description('wait until the router on HTTP_HOST:HTTP_PORT has ARI and AMI up (systemd ExecStartPost); exit 1 on timeout')
    .option('--timeout <seconds>', 'give up after this long', '60')
    .action(async (opts: { timeout: string }) => {
      const config = configOrExit(process.env, ['HTTP_HOST', 'HTTP_PORT']);
      const seconds = Number(opts.timeout);
      if (!(seconds > 0)) fail('wait-ready', `--timeout ${JSON.stringify(opts.timeout)} is invalid: expected a number of seconds > 0`, 64);
      const url = probeUrl(config.HTTP_HOST, config.HTTP_PORT);
      const deadline = Date.now() + seconds * 1000;
      let last: ReadyState;
      for (;;) {
        last = await readyState(url);
        if (last.ready) {
          process.stdout.write(`sticky-router ready: ${last.summary}\n`);
          return;
        }
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      fail('wait-ready', `not ready after ${seconds} s: ${last.summary}`, 1);
    });
}
