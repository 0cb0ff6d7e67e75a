// Rendering of search responses and hits in ES 8's shape.

import { err } from './errors.js';
import { renderSortValues, type Hit } from './sort.js';
import { filterSource, type SourceSpec } from './source-filter.js';
import type { JsonObject } from './util.js';

export interface Render {
  source: SourceSpec;
  version: boolean;
  seqNo: boolean;
  withScores: boolean;
  /** Emit each hit's `sort` array (explicit sort or PIT). */
  emitSort: boolean;
  formatted: boolean[];
}

export function shards(n: number): JsonObject {
  return { total: n, successful: n, skipped: 0, failed: 0 };
}

/** `hits.total` per track_total_hits / rest_total_hits_as_int; undefined = omitted. */
export function totalHits(count: number, tth: unknown, restAsInt: boolean): unknown {
  const track = tth === undefined ? 10_000 : tth === 'true' ? true : tth === 'false' ? false : typeof tth === 'string' ? Number(tth) : tth;
  if (restAsInt) {
    if (track === false) return -1;
    if (typeof track === 'number' && track !== 10_000 && track < count) {
      throw err.illegalArgument(`[rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got ${track}`);
    }
    return count;
  }
  if (track === false) return undefined;
  if (track === true) return { value: count, relation: 'eq' };
  if (typeof track !== 'number' || !Number.isInteger(track) || track < -1) {
    throw err.illegalArgument(`[track_total_hits] parameter must be positive or equals to -1, got ${String(track)}`);
  }
  if (track === -1) return { value: count, relation: 'eq' };
  return count > track ? { value: track, relation: 'gte' } : { value: count, relation: 'eq' };
}

function renderHit(h: Hit, r: Render): JsonObject {
  const out: JsonObject = { _index: h.index.name, _id: h.doc.id };
  if (r.version) out._version = h.doc.version;
  if (r.seqNo) {
    out._seq_no = h.doc.seqNo;
    out._primary_term = 1;
  }
  out._score = r.withScores ? h.score : null;
  if (r.source.enabled) out._source = filterSource(h.doc.source, r.source);
  if (r.emitSort) out.sort = renderSortValues(h.keys, r.formatted);
  return out;
}

export function searchResponse(started: number, shardCount: number, total: unknown, maxScore: number | null, page: Hit[], r: Render): JsonObject {
  const hits: JsonObject = {};
  if (total !== undefined) hits.total = total;
  hits.max_score = r.withScores && page.length > 0 ? maxScore : null;
  hits.hits = page.map((h) => renderHit(h, r));
  return { took: Date.now() - started, timed_out: false, _shards: shards(shardCount), hits };
}

