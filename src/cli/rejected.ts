// `sticky-router rejected list|reship`: journal records Elasticsearch refused for
// good (a mapping conflict, say). They stay in the journal, out of the shipping
// queue; after the fix (template, index) `reship` puts them back and the running
// router ships them within its idle poll (5 s). Works next to a running router.
import type { Command } from 'commander';
import { Journal } from '../cdr/journal.js';
import { configOrExit } from './config-exit.js';
import { fail } from './es-env.js';

function openJournal(readonly: boolean): Journal {
  const config = configOrExit(process.env, ['DATA_DIR']);
  try {
    return new Journal(config.DATA_DIR, { readonly });
  } catch (err) {
    fail('rejected', `cannot open the journal in DATA_DIR=${config.DATA_DIR}: ${(err as Error).message}`, 1);
  }
}

export function registerRejected(program: Command): void {
  const cmd = program.command('rejected').description('records Elasticsearch refused for good: list them, or ship them again after a fix');
  cmd
    .command('list')
    .description('one line per refused record: id, kind, record time, when refused, the cluster\'s reason')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'one JSON object per line')
    .action((opts: { limit: string; json?: boolean }) => {
      const j = openJournal(true);
      try {
        const rows = j.rejectedRows(Math.max(1, Number.parseInt(opts.limit, 10) || 100));
        for (const r of rows) {
          const rec = { id: r.id, kind: r.kind, at: new Date(r.ts).toISOString(), rejected_at: new Date(r.rejected_at).toISOString(), error: r.ship_error ?? '' };
          process.stdout.write(opts.json ? `${JSON.stringify(rec)}\n` : `${rec.id}  ${rec.kind.padEnd(7)}  ${rec.at}  refused ${rec.rejected_at}  ${rec.error}\n`);
        }
        process.stderr.write(`${j.rejected()} record(s) refused by Elasticsearch${rows.length < j.rejected() ? ` (${rows.length} shown)` : ''}\n`);
      } finally {
        j.close();
      }
    });
  cmd
    .command('reship')
    .description('put refused records back in the shipping queue (all, or the given ids)')
    .argument('[ids...]', 'record ids from `rejected list`')
    .action((ids: string[]) => {
      const j = openJournal(false);
      try {
        const n = j.reship(ids.length > 0 ? ids : undefined);
        process.stdout.write(`${n} record(s) queued for shipping again; a running router ships them within seconds\n`);
      } finally {
        j.close();
      }
    });
}
