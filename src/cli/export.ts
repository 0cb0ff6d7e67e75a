// `sticky-router export --from <iso> --to <iso> [--format csv|ndjson] [--out FILE]`:
// every CDR with @timestamp in [from, to), from Elasticsearch when ES_NODE is set,
// otherwise from the local journal. Constant memory whatever the range.
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Option, type Command } from 'commander';
import { DateTime } from 'luxon';
import type { Config } from '../config.js';
import { createEsClient, describeEsError, esTarget } from '../cdr/es-client.js';
import { cdrsFromElasticsearch, cdrsFromJournal, exportFormats, writeExport, type ExportFormat } from '../cdr/export.js';
import { Journal } from '../cdr/journal.js';
import { esCommandConfig, fail } from './es-env.js';

export interface ExportRequest {
  from: DateTime;
  to: DateTime;
  format: ExportFormat;
  /** A file path; undefined writes to `stdout`. */
  out?: string;
}

export interface ExportIo {
  stdout: Writable;
  /** Progress goes here, only when it is a TTY. */
  stderr: Writable & { isTTY?: boolean };
}

export class ExportError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write every CDR with @timestamp in [from, to) as CSV or NDJSON (from Elasticsearch when ES_NODE is set, else the local journal)')
    .requiredOption('--from <iso>', 'start, inclusive (ISO-8601; UTC unless it has an offset), e.g. 2025-06-01')
    .requiredOption('--to <iso>', 'end, exclusive (ISO-8601; UTC unless it has an offset), e.g. 2025-06-02T00:00Z')
    .addOption(new Option('--format <format>', 'output format').choices(exportFormats).default('csv'))
    .option('--out <file>', 'write to FILE (replaced only when the export completes) instead of stdout')
    .action(async (opts: { from: string; to: string; format: ExportFormat; out?: string }) => {
      const from = parseTime('--from', opts.from);
      const to = parseTime('--to', opts.to);
      if (to <= from) fail('export', `--to (${to.toISO()}) must be after --from (${from.toISO()})`, 64);
      const config = esCommandConfig();
      try {
        const n = await runExport(config, { from, to, format: opts.format, ...(opts.out ? { out: opts.out } : {}) }, { stdout: process.stdout, stderr: process.stderr });
        process.stderr.write(`exported ${n} CDRs${opts.out ? ` to ${opts.out}` : ''}\n`);
      } catch (err) {
        if (err instanceof ExportError) fail('export', err.message, err.exitCode);
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0); // the reader went away (e.g. `| head`)
        fail('export', err instanceof Error ? err.message : String(err), 1);
      }
    });
}

/** The export itself, without process.exit: returns the number of CDRs written. */
export async function runExport(config: Config, req: ExportRequest, io: ExportIo): Promise<number> {
  const client = createEsClient(config);
  let journal: Journal | undefined;
  let docs;
  if (client) {
    docs = cdrsFromElasticsearch(client, config.ES_INDEX_PREFIX, req.from, req.to);
  } else {
    const path = join(config.DATA_DIR, 'journal.sqlite');
    if (!existsSync(path)) throw new ExportError(`no journal at ${path} and ES_NODE is unset: nothing to export (set DATA_DIR or ES_NODE)`, 1);
    // A connection of its own, read-only: a running router keeps writing through WAL meanwhile.
    journal = new Journal(config.DATA_DIR, { readonly: true });
    docs = cdrsFromJournal(journal, req.from, req.to);
  }

  const partial = req.out ? `${req.out}.partial` : undefined;
  const out = partial ? createWriteStream(partial) : io.stdout;
  const progress = io.stderr.isTTY ? throttledProgress(io.stderr) : undefined;
  try {
    const n = await writeExport(docs, { format: req.format, out, ...(progress ? { onProgress: progress } : {}) });
    if (partial && req.out) {
      out.end();
      await finished(out);
      renameSync(partial, req.out);
    }
    return n;
  } catch (err) {
    if (partial) {
      out.destroy();
      rmSync(partial, { force: true });
    }
    if (client && (err as Error).name === 'ConnectionError') {
      throw new ExportError(`could not reach Elasticsearch at ${esTarget(config)}: ${(err as Error).message}`, 1);
    }
    if (client && (err as { meta?: unknown }).meta !== undefined) {
      throw new ExportError(`Elasticsearch at ${esTarget(config)} failed: ${describeEsError(err)}`, 1);
    }
    throw err;
  } finally {
    if (progress) io.stderr.write('\n');
    journal?.close();
    await client?.close();
  }
}

function parseTime(flag: string, raw: string): DateTime {
  let t: DateTime | undefined;
  try {
    t = DateTime.fromISO(raw, { zone: 'utc' });
  } catch {
    // Settings.throwOnInvalid: luxon throws rather than returning an invalid DateTime.
  }
  if (!t?.isValid) fail('export', `${flag} ${JSON.stringify(raw)} is not an ISO-8601 date or time, e.g. 2025-06-01 or 2025-06-01T08:00:00+03:00`, 64);
  return t;
}

/** `\r`-updated progress line, at most every 200 ms. */
function throttledProgress(stderr: Writable): (n: number) => void {
  let last = 0;
  return (n) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    stderr.write(`\rexported ${n} CDRs`);
  };
}
