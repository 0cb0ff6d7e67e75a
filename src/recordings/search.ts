// Finding recorded calls: the CDRs that carry `recording.file` (and whose file
// retention has not deleted), newest first. Elasticsearch when the router ships
// there, the local journal otherwise; both answer the same RecordingHit.
import type { Client, estypes } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { cdrIndexPattern } from '../cdr/index-names.js';
import type { Journal } from '../cdr/journal.js';
import type { CdrDocument } from '../cdr/schema.js';

export interface RecordingQuery {
  /** E.164, already normalised. */
  number?: string;
  from?: DateTime;
  to?: DateTime;
  agent?: string;
  /** The caller's uniqueid or the call's linkedid. */
  uniqueid?: string;
  /** The recording's path inside RECORDINGS_DIR. */
  file?: string;
  limit: number;
}

export interface RecordingHit {
  cdrId: string;
  uniqueid: string;
  linkedid?: string;
  number?: string;
  agent?: string;
  started_at: string;
  duration_s: number;
  bytes: number;
  file: string;
}

export interface RecordingIndex {
  search(q: RecordingQuery): Promise<RecordingHit[]>;
}

export function hitOf(d: CdrDocument): RecordingHit | undefined {
  const r = d.recording;
  if (!r?.file || r.deleted_at) return undefined;
  return {
    cdrId: d.id,
    uniqueid: d.asterisk.uniqueid,
    ...(d.asterisk.linkedid ? { linkedid: d.asterisk.linkedid } : {}),
    ...(d.customer_e164 ? { number: d.customer_e164 } : {}),
    ...(d.agent ? { agent: d.agent } : {}),
    started_at: d.asterisk.start,
    duration_s: r.duration_s,
    bytes: r.bytes,
    file: r.file,
  };
}

export function matches(d: CdrDocument, q: RecordingQuery): boolean {
  if (q.number && d.customer_e164 !== q.number) return false;
  if (q.agent && d.agent !== q.agent) return false;
  if (q.uniqueid && d.asterisk.uniqueid !== q.uniqueid && d.asterisk.linkedid !== q.uniqueid) return false;
  if (q.file && d.recording?.file !== q.file) return false;
  const ts = Date.parse(d['@timestamp']);
  if (q.from && ts < q.from.toMillis()) return false;
  if (q.to && ts >= q.to.toMillis()) return false;
  return true;
}

export class ElasticsearchRecordings implements RecordingIndex {
  constructor(private readonly client: Client, private readonly prefix: string, private readonly timeoutMs = 5000) {}

  async search(q: RecordingQuery): Promise<RecordingHit[]> {
    const filter: estypes.QueryDslQueryContainer[] = [{ exists: { field: 'recording.file' } }];
    if (q.number) filter.push({ term: { customer_e164: q.number } });
    if (q.agent) filter.push({ term: { agent: q.agent } });
    if (q.file) filter.push({ term: { 'recording.file': q.file } });
    if (q.uniqueid) filter.push({ bool: { should: [{ term: { 'asterisk.uniqueid': q.uniqueid } }, { term: { 'asterisk.linkedid': q.uniqueid } }], minimum_should_match: 1 } });
    if (q.from || q.to) filter.push({ range: { '@timestamp': { ...(q.from ? { gte: q.from.toUTC().toISO()! } : {}), ...(q.to ? { lt: q.to.toUTC().toISO()! } : {}) } } });
    const res = await this.client.search<CdrDocument>(
      {
        index: cdrIndexPattern(this.prefix),
        ignore_unavailable: true,
        allow_no_indices: true,
        size: q.limit,
        track_total_hits: false,
        sort: [{ '@timestamp': 'desc' }],
        query: { bool: { filter, must_not: [{ exists: { field: 'recording.deleted_at' } }] } },
      },
      { requestTimeout: this.timeoutMs, maxRetries: 0 },
    );
    return res.hits.hits.flatMap((h) => (h._source ? [hitOf(h._source)].filter((x): x is RecordingHit => x !== undefined) : []));
  }
}

/** Journal-only mode: the journal keeps JOURNAL_RETENTION of CDRs; scanned by time, filtered here. */
export class JournalRecordings implements RecordingIndex {
  constructor(private readonly journal: Journal, private readonly clock: () => DateTime = () => DateTime.utc()) {}

  search(q: RecordingQuery): Promise<RecordingHit[]> {
    const to = q.to ?? this.clock().plus({ days: 1 });
    const from = q.from ?? DateTime.fromMillis(0, { zone: 'utc' });
    const out: RecordingHit[] = [];
    for (const row of this.journal.iterate(from, to, 'cdr')) {
      const d = JSON.parse(row.json) as CdrDocument;
      if (!d.recording || !matches(d, q)) continue;
      const hit = hitOf(d);
      if (hit) out.push(hit);
    }
    // Rows come oldest first (by @timestamp, as Elasticsearch sorts): newest first here.
    return Promise.resolve(out.reverse().slice(0, q.limit));
  }
}
