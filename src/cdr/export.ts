// Exports CDRs with @timestamp in [from, to) as CSV or NDJSON, in constant memory:
// records are pulled a page at a time (Elasticsearch: point in time + search_after;
// journal: a SQLite cursor) and written only as fast as the output takes them.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Client, estypes } from '@elastic/elasticsearch';
import type { DateTime } from 'luxon';
import { rangeIndices } from './index-names.js';
import type { Journal } from './journal.js';
import type { CdrDocument } from './schema.js';
import type { CallQuality } from './quality.js';

export type ExportFormat = 'csv' | 'ndjson';
export const exportFormats: readonly ExportFormat[] = ['csv', 'ndjson'];

/** Every CDR in [from, to) from Elasticsearch, oldest first, `pageSize` per request. */
export async function* cdrsFromElasticsearch(
  client: Client,
  prefix: string,
  from: DateTime,
  to: DateTime,
  pageSize = 5000,
): AsyncGenerator<CdrDocument, void, undefined> {
  // A point in time gives a consistent view while the shipper keeps writing, and
  // unlike scroll it is not tied to one shard copy. Kept alive per page; a slow
  // consumer (backpressure) has this long between pages.
  const keepAlive = '5m';
  let pitId: string;
  try {
    pitId = (await client.openPointInTime({ index: rangeIndices(prefix, from, to), keep_alive: keepAlive, ignore_unavailable: true })).id;
  } catch (err) {
    if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return; // no index in the range
    throw err;
  }
  try {
    let after: estypes.SortResults | undefined;
    for (;;) {
      const res = await client.search<CdrDocument>({
        pit: { id: pitId, keep_alive: keepAlive },
        size: pageSize,
        track_total_hits: false,
        // _shard_doc: the cheapest total order within a PIT, so search_after never skips or repeats.
        sort: [{ '@timestamp': 'asc' }, { _shard_doc: 'asc' }],
        query: { bool: { filter: [{ range: { '@timestamp': { gte: from.toUTC().toISO() ?? undefined, lt: to.toUTC().toISO() ?? undefined } } }] } },
        ...(after ? { search_after: after } : {}),
      });
      pitId = res.pit_id ?? pitId;
      const hits = res.hits.hits;
      for (const h of hits) if (h._source) yield h._source;
      after = hits.at(-1)?.sort;
      if (hits.length < pageSize || !after) return;
    }
  } finally {
    await client.closePointInTime({ id: pitId }).catch(() => undefined);
  }
}

/** Every CDR in [from, to) from the local journal, oldest first. */
export function* cdrsFromJournal(journal: Journal, from: DateTime, to: DateTime): Generator<CdrDocument, void, undefined> {
  for (const row of journal.iterate(from, to, 'cdr')) yield JSON.parse(row.json) as CdrDocument;
}

type Asterisk = CdrDocument['asterisk'];
const asteriskFields: readonly (keyof Asterisk)[] = [
  'src', 'dst', 'dcontext', 'clid', 'channel', 'dstchannel', 'lastapp', 'lastdata', 'start', 'answer', 'end',
  'duration', 'billsec', 'disposition', 'amaflags', 'accountcode', 'uniqueid', 'linkedid', 'userfield',
];

// Voice quality columns (empty for calls without the [sticky-qos] dialplan): the call's
// worst figures, then each leg's two directions (rx = received by the PBX).
/** What a CSV cell holds: a scalar or nothing. */
type Cell = string | number | boolean | undefined | null;

const qualityColumns: readonly [string, (q: CallQuality) => Cell][] = [
  ['quality.mes', (q) => q.mes],
  ['quality.loss_pct', (q) => q.loss_pct],
  ['quality.jitter_ms', (q) => q.jitter_ms],
  ['quality.rtt_ms', (q) => q.rtt_ms],
  ['quality.codec', (q) => q.codec],
  ['quality.setup_ms', (q) => q.setup_ms],
  ['quality.sip_cause', (q) => q.sip_cause],
  ['quality.hangup_cause', (q) => q.hangup_cause],
  ['quality.hangup_by', (q) => q.hangup_by],
  ...(['caller', 'agent'] as const).flatMap((leg) =>
    (['rx', 'tx'] as const).flatMap((dir) =>
      (['packets', 'lost', 'loss_pct', 'jitter_ms', 'mes'] as const).map((k): [string, (q: CallQuality) => Cell] => [`quality.${leg}.${dir}.${k}`, (q) => q[leg]?.[dir][k]]),
    ),
  ),
  ['quality.caller.rtt_ms', (q) => q.caller?.rtt_ms],
  ['quality.agent.rtt_ms', (q) => q.agent?.rtt_ms],
];

/** The CSV header: fixed, whatever the records hold, so spreadsheets and scripts can rely on it. */
export const csvColumns: readonly string[] = [
  'timestamp', 'id', 'direction', 'customer_e164', 'customer_raw', 'agent', 'talk_seconds', 'talked', 'sticky_reason', 'did',
  ...asteriskFields.map((f) => `asterisk.${f}`),
  'recording.file', 'recording.duration_s', 'recording.bytes', 'recording.deleted_at',
  ...qualityColumns.map(([name]) => name),
];

export function csvRow(d: CdrDocument): string {
  const a: Partial<Asterisk> = d.asterisk ?? {};
  const cells: Cell[] = [
    d['@timestamp'], d.id, d.direction, d.customer_e164, d.customer_raw, d.agent, d.talk_seconds, d.talked, d.sticky_reason, d.did,
    ...asteriskFields.map((f) => a[f]),
    d.recording?.file, d.recording?.duration_s, d.recording?.bytes, d.recording?.deleted_at,
    ...qualityColumns.map(([, get]) => (d.quality ? get(d.quality) : undefined)),
  ];
  return cells.map(csvCell).join(',') + '\r\n';
}

/**
 * RFC 4180: quote a cell holding a comma, quote, CR or LF; double the quotes inside.
 * A text cell starting with = + - @ (or tab/CR) is a formula to Excel and LibreOffice
 * ("CSV injection"; a caller ID can carry one): it gets a leading `'`, which the
 * spreadsheet shows as text. So `+380…` reads `'+380…` in the file. Numbers and
 * booleans are written as they are.
 */
export function csvCell(v: Cell): string {
  if (v === undefined || v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export interface WriteExportOptions {
  format: ExportFormat;
  out: Writable;
  /** Called with the running count, at most every `progressEvery` records and once at the end. */
  onProgress?: (written: number) => void;
  progressEvery?: number;
}

/** Writes the records, waiting for 'drain' whenever the output is full. Resolves with the count; does not end `out`. */
export async function writeExport(docs: AsyncIterable<CdrDocument> | Iterable<CdrDocument>, opts: WriteExportOptions): Promise<number> {
  const { out, format } = opts;
  let failed: Error | undefined;
  const onError = (err: Error) => (failed ??= err);
  out.on('error', onError);
  const every = opts.progressEvery ?? 1000;
  let buf = format === 'csv' ? csvColumns.join(',') + '\r\n' : '';
  let n = 0;
  // Small writes are batched into ~64 KiB chunks: one write() per record is slow.
  // A function, not an inline check: `failed` is set by the 'error' listener between awaits.
  const throwIfFailed = () => {
    if (failed) throw failed;
  };
  const flush = async () => {
    throwIfFailed();
    if (buf.length === 0) return;
    const chunk = buf;
    buf = '';
    if (!out.write(chunk)) await drained(out);
    throwIfFailed();
  };
  try {
    for await (const d of docs) {
      buf += format === 'csv' ? csvRow(d) : JSON.stringify(d) + '\n';
      n++;
      if (buf.length >= 65_536) await flush();
      if (n % every === 0) opts.onProgress?.(n);
    }
    await flush();
    opts.onProgress?.(n);
    return n;
  } finally {
    out.off('error', onError);
  }
}

/** Resolves on 'drain' (or 'close': nothing more will drain); rejects on 'error'. Leaves no listener behind. */
async function drained(out: Writable): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race([once(out, 'drain', { signal: ac.signal }), once(out, 'close', { signal: ac.signal })]);
  } finally {
    ac.abort();
  }
}
