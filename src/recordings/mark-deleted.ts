// Marks the CDRs of recordings that retention deleted: in Elasticsearch (a
// partial update of each document naming the file) and in the local journal
// (rows not yet shipped or pruned). A failure is logged and retried at the next
// sweep only for the journal; Elasticsearch documents that stay unmarked still
// point at a file that is gone, which the media endpoint answers with 404.
import type { Client } from '@elastic/elasticsearch';
import type { DateTime } from 'luxon';
import { cdrIndexPattern } from '../cdr/index-names.js';
import type { Journal } from '../cdr/journal.js';

export async function markDeletedInElasticsearch(client: Client, prefix: string, files: string[], at: DateTime): Promise<number> {
  if (files.length === 0) return 0;
  const res = await client.search({
    index: cdrIndexPattern(prefix),
    ignore_unavailable: true,
    allow_no_indices: true,
    size: Math.min(10_000, files.length * 10),
    track_total_hits: false,
    _source: false,
    query: { bool: { filter: [{ terms: { 'recording.file': files } }], must_not: [{ exists: { field: 'recording.deleted_at' } }] } },
  });
  const hits = res.hits.hits.filter((h) => h._id !== undefined);
  if (hits.length === 0) return 0;
  const deletedAt = at.toUTC().toISO()!;
  const body = hits.flatMap((h) => [{ update: { _index: h._index, _id: h._id! } }, { doc: { recording: { deleted_at: deletedAt } } }]);
  const r = await client.bulk({ operations: body, refresh: false });
  if (r.errors) {
    const first = r.items.find((i) => i.update?.error)?.update?.error;
    throw new Error(`Elasticsearch refused some recording marks: ${first?.type ?? 'error'}: ${first?.reason ?? ''}`);
  }
  return hits.length;
}

export function markDeletedInJournal(journal: Journal, files: string[], at: DateTime): number {
  let n = 0;
  for (const f of files) n += journal.markRecordingDeleted(f, at);
  return n;
}
