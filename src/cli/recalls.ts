// `sticky-router recalls [--json] [--within P1D]`: abandoned callers nobody has
// reached yet, oldest first: the same list as GET /v1/recalls. Reads DATA_DIR's
// outbox (and the journal for callers' last agents) read-only, beside a running router.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { isoDurationMs } from '../env.js';
import { Journal } from '../cdr/journal.js';
import { readRecalls, type RecallList } from '../abandon/recalls.js';
import { formatWait } from '../abandon/record.js';
import { configOrExit, exitWith } from './config-exit.js';

const needed = ['DATA_DIR', 'STICKY_WINDOW'] as const;

export function registerRecalls(program: Command): void {
  program
    .command('recalls')
    .description('list abandoned callers not yet reached, oldest first: since when, attempts, wait, the agent to call them back')
    .option('--within <duration>', 'how far back (ISO-8601 duration)', 'P1D')
    .option('--json', 'print JSON (the same as GET /v1/recalls)')
    .action((opts: { within: string; json?: boolean }) => {
      const config = configOrExit(process.env, needed);
      const withinMs = isoDurationMs(opts.within);
      if (withinMs === undefined) exitWith(`recalls: --within ${JSON.stringify(opts.within)} is invalid: expected an ISO-8601 duration such as P1D or PT4H`, 64);
      const journal = existsSync(join(config.DATA_DIR, 'journal.sqlite')) ? new Journal(config.DATA_DIR, { readonly: true }) : undefined;
      try {
        const list = readRecalls(config.DATA_DIR, {
          now: Date.now(),
          withinMs,
          lastAgent: (e164, at) => journal?.lastAgentFor(e164, DateTime.fromMillis(at - config.STICKY_WINDOW, { zone: 'utc' }))?.agent,
        });
        process.stdout.write(opts.json ? `${JSON.stringify(list)}\n` : human(list));
      } finally {
        journal?.close();
      }
    });
}

function human(l: RecallList): string {
  const head = `Callers to call back (abandoned since ${l.from}, not reached): ${l.recalls.length}${l.withheld ? `; ${l.withheld} more without caller ID` : ''}\n`;
  if (l.recalls.length === 0) return head;
  const rows = [['waiting since', 'caller', 'tries', 'waited', 'call back', 'line / queue']];
  for (const r of l.recalls) {
    rows.push([
      `${r.since.slice(0, 19).replace('T', ' ')} UTC (${DateTime.fromISO(r.since).toRelative() ?? ''})`,
      r.caller.e164 ?? r.caller.raw,
      String(r.attempts),
      `${formatWait(r.waited_seconds_total)} (longest ${formatWait(r.waited_seconds_longest)})`,
      r.agent ? `${r.agent}${r.agent_source === 'history' ? ' (last talked)' : ' (sticky)'}` : '-',
      [r.did, r.queue].filter(Boolean).join(' / ') || '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return head + rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}
