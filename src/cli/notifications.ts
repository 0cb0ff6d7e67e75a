// `sticky-router notifications failed|requeue`: abandon notifications a receiver
// refused for good (a 4xx: wrong URL, revoked token). They are kept with their
// last error; after the receiver is fixed, `requeue` puts them back and the running
// router delivers them at its next check (within a minute). Works next to it.
import type { Command } from 'commander';
import { OutboxStore } from '../abandon/outbox-store.js';
import { configOrExit } from './config-exit.js';
import { fail } from './es-env.js';

function openOutbox(): OutboxStore {
  const config = configOrExit(process.env, ['DATA_DIR']);
  try {
    return new OutboxStore(config.DATA_DIR);
  } catch (err) {
    fail('notifications', `cannot open the outbox in DATA_DIR=${config.DATA_DIR}: ${(err as Error).message}`, 1);
  }
}

export function registerNotifications(program: Command): void {
  const cmd = program.command('notifications').description('abandon notifications given up on: list them, or queue them again');
  cmd
    .command('failed')
    .description('one line per notification a receiver refused for good')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'one JSON object per line')
    .action((opts: { limit: string; json?: boolean }) => {
      const s = openOutbox();
      try {
        const rows = s.failed(Math.max(1, Number.parseInt(opts.limit, 10) || 100));
        for (const r of rows) {
          const rec = { notification: r.notification_id, channel: r.channel, attempts: r.attempts, failed_at: new Date(r.failed_at).toISOString(), abandon: r.summary, error: r.last_error ?? '' };
          process.stdout.write(opts.json ? `${JSON.stringify(rec)}\n` : `${rec.notification}  ${rec.channel.padEnd(8)}  ${rec.failed_at}  ${rec.abandon}  ${rec.error}\n`);
        }
        const total = Object.values(s.counts()).reduce((n, c) => n + c.failed, 0);
        process.stderr.write(`${total} notification(s) failed for good${rows.length < total ? ` (${rows.length} shown)` : ''}\n`);
      } finally {
        s.close();
      }
    });
  cmd
    .command('requeue')
    .description('queue failed notifications again (after fixing the receiver)')
    .option('--channel <name>', 'only this channel (webhook, slack, telegram, email)')
    .action((opts: { channel?: string }) => {
      const s = openOutbox();
      try {
        const n = s.requeueFailed(Date.now(), opts.channel);
        process.stdout.write(`${n} notification(s) queued again; a running router sends them within a minute\n`);
      } finally {
        s.close();
      }
    });
}
