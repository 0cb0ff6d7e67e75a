// _search, scroll, _count and point-in-time APIs: request validation,
// target resolution, paging (from / search_after / scroll) and the response
// shape of ES 8.

import type { Contexts, ScrollContext } from './contexts.js';
import { err } from './errors.js';
import type { IndexState } from './index-state.js';
import { SEARCH_DEFAULTS, type ResolveOptions } from './index-expr.js';
import { MATCH_ALL, parseQuery, type Query } from './query.js';
import { compileForShard, rank, type RankCache, type RankTarget } from './ranking.js';
import { boolParam, checkParams, intParam, type EsRequest, type EsResponse } from './request.js';
import { formattedDateClauses, parseSort, positionAfter, searchAfterKeys, validateSort, type SortClause } from './sort.js';
import { parseSourceSpec } from './source-filter.js';
import { searchResponse, shards, totalHits, type Render } from './response.js';
import type { Store } from './store.js';
import { isObject, splitList, type JsonObject } from './util.js';

export interface SearchDeps {
  store: Store;
  contexts: Contexts;
  cache: RankCache;
}

const RESOLVE_PARAMS = ['ignore_unavailable', 'allow_no_indices', 'expand_wildcards', 'ignore_throttled'];
const SEARCH_PARAMS = [
  ...RESOLVE_PARAMS,
  'allow_partial_search_results', 'batched_reduce_size', 'ccs_minimize_roundtrips', 'max_concurrent_shard_requests',
  'pre_filter_shard_size', 'preference', 'q', 'request_cache', 'rest_total_hits_as_int', 'routing', 'scroll',
  'search_type', 'seq_no_primary_term', 'size', 'from', 'sort', '_source', '_source_excludes', '_source_includes',
  'stats', 'terminate_after', 'timeout', 'track_scores', 'track_total_hits', 'typed_keys', 'version',
  'include_named_queries_score', 'force_synthetic_source',
];
const COUNT_PARAMS = [...RESOLVE_PARAMS, 'min_score', 'preference', 'routing', 'terminate_after', 'q'];

/** Body keys the double evaluates (or may safely ignore: timeout, terminate_after, stats). */
const SUPPORTED_BODY = new Set([
  'query', 'size', 'from', 'sort', '_source', 'track_total_hits', 'search_after', 'pit', 'timeout',
  'terminate_after', 'track_scores', 'version', 'seq_no_primary_term', 'stats', 'explain', 'profile',
]);
/** Valid ES but not emulated: refused so tests never pass on silently wrong results. */
const UNSUPPORTED_BODY = new Set([
  'aggs', 'aggregations', 'collapse', 'highlight', 'post_filter', 'rescore', 'suggest', 'script_fields',
  'docvalue_fields', 'fields', 'stored_fields', 'runtime_mappings', 'min_score', 'indices_boost', 'knn', 'rank',
  'retriever', 'slice', 'ext',
]);

function resolveOptions(req: EsRequest, dflt: ResolveOptions = SEARCH_DEFAULTS): ResolveOptions {
  return {
    ignoreUnavailable: boolParam(req.qs, 'ignore_unavailable', dflt.ignoreUnavailable),
    allowNoIndices: boolParam(req.qs, 'allow_no_indices', dflt.allowNoIndices),
  };
}

function bodyObject(req: EsRequest): JsonObject {
  if (req.body === undefined) return {};
  if (!isObject(req.body)) throw err.parsing('request body must be an object');
  return req.body;
}

function tokenName(v: unknown): string {
  if (isObject(v)) return 'START_OBJECT';
  if (Array.isArray(v)) return 'START_ARRAY';
  if (typeof v === 'string') return 'VALUE_STRING';
  if (typeof v === 'number') return 'VALUE_NUMBER';
  if (typeof v === 'boolean') return 'VALUE_BOOLEAN';
  return 'VALUE_NULL';
}

function intOption(qsValue: number | undefined, bodyValue: unknown, name: string, dflt: number): number {
  const v = qsValue ?? bodyValue;
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw err.parsing(`[${name}] failed to parse field [${name}]`);
  if (v < 0) throw err.illegalArgument(`[${name}] parameter cannot be negative, found [${v}]`);
  return v;
}

function checkBody(body: JsonObject): void {
  for (const [k, v] of Object.entries(body)) {
    if (UNSUPPORTED_BODY.has(k)) throw err.unsupported(`search option [${k}]`);
    if (!SUPPORTED_BODY.has(k)) throw err.parsing(`Unknown key for a ${tokenName(v)} in [${k}].`);
  }
  if (body.explain === true || body.profile === true) throw err.unsupported('explain/profile');
}

function pitSpec(body: JsonObject): { id: string; keepAlive?: string } | undefined {
  if (body.pit === undefined) return undefined;
  const pit = body.pit;
  if (!isObject(pit) || typeof pit.id !== 'string') throw err.parsing('[pit] failed to parse field [id]');
  return typeof pit.keep_alive === 'string' ? { id: pit.id, keepAlive: pit.keep_alive } : { id: pit.id };
}

export function search(deps: SearchDeps, indexExpr: string | undefined, req: EsRequest): EsResponse {
  const started = Date.now();
  checkParams(req, SEARCH_PARAMS);
  const body = bodyObject(req);
  checkBody(body);
  if (req.qs.has('q')) throw err.unsupportedQuery('query_string (q= parameter)');
  const query = body.query === undefined ? MATCH_ALL : parseQuery(body.query);
  const size = intOption(intParam(req.qs, 'size'), body.size, 'size', 10);
  const from = intOption(intParam(req.qs, 'from'), body.from, 'from', 0);
  const explicitSort = parseSort(body.sort, req.qs.get('sort') ?? undefined);
  const scroll = req.qs.get('scroll') ?? undefined;
  const pit = pitSpec(body);
  const after = body.search_after;
  if (after !== undefined && !Array.isArray(after)) throw err.parsing('[search_after] failed to parse field [search_after]');

  let targets: RankTarget[];
  let cacheScope: string;
  if (pit) {
    if (indexExpr !== undefined) {
      throw err.validation('[indices] cannot be used with point in time. Do not specify any index with point in time.');
    }
    if (scroll !== undefined) throw err.validation('using [point in time] is not allowed in a scroll context');
    const ctx = deps.contexts.pit(pit.id, pit.keepAlive);
    targets = ctx.targets;
    cacheScope = `pit:${ctx.id}`;
  } else {
    const indices = deps.store.resolve(indexExpr, resolveOptions(req));
    targets = indices.map((index) => ({ index, docs: index.docs.values() }));
    cacheScope = indices.map((i) => `${i.name}/${i.uuid}/${i.generation}`).join(',');
  }
  const indices = targets.map((t) => t.index);

  let sort: SortClause[] = explicitSort ?? [{ kind: 'score', order: 'desc' }];
  // PIT searches get an implicit _shard_doc tiebreaker, as in ES.
  if (pit && !sort.some((c) => c.kind === 'shard_doc')) sort = [...sort, { kind: 'shard_doc', order: 'asc' }];
  validateSort(sort, indices, pit !== undefined);
  checkWindow(indices, from, size, scroll !== undefined, after !== undefined);

  const trackScores = boolParam(req.qs, 'track_scores', body.track_scores === true);
  const render: Render = {
    source: parseSourceSpec(body._source, req.qs),
    version: boolParam(req.qs, 'version', body.version === true),
    seqNo: boolParam(req.qs, 'seq_no_primary_term', body.seq_no_primary_term === true),
    withScores: explicitSort === undefined || trackScores || explicitSort.some((c) => c.kind === 'score'),
    emitSort: explicitSort !== undefined || pit !== undefined,
    formatted: formattedDateClauses(sort, indices),
  };

  // Continuation pages reuse the ranking of the first page (`now` stays frozen across them).
  const cacheKey = JSON.stringify([cacheScope, body.query ?? null, sort]);
  let ranked = after !== undefined ? deps.cache.get(cacheKey) : undefined;
  if (!ranked) {
    ranked = rank(targets, query, sort, started);
    if (pit || after !== undefined) deps.cache.set(cacheKey, ranked);
  }
  const tth = req.qs.get('track_total_hits') ?? body.track_total_hits;
  const total = totalHits(ranked.hits.length, tth, boolParam(req.qs, 'rest_total_hits_as_int', false));

  if (scroll !== undefined) {
    const page = ranked.hits.slice(0, size);
    const ctx = deps.contexts.openScroll(
      { hits: ranked.hits, cursor: page.length, size, sort, render, total, maxScore: ranked.maxScore, shards: targets.length },
      scroll,
    );
    return { status: 200, body: { _scroll_id: ctx.id, ...searchResponse(started, targets.length, total, ranked.maxScore, page, render) } };
  }
  const start = after === undefined ? from : positionAfter(ranked.hits, sort, searchAfterKeys(sort, after, indices));
  const page = ranked.hits.slice(start, start + size);
  const res = searchResponse(started, targets.length, total, ranked.maxScore, page, render);
  return { status: 200, body: pit ? { pit_id: pit.id, ...res } : res };
}

function checkWindow(indices: IndexState[], from: number, size: number, scroll: boolean, searchAfter: boolean): void {
  const first = indices[0];
  if (searchAfter && from > 0) throw err.illegalArgument('`from` parameter must be set to 0 when `search_after` is used.');
  if (searchAfter && scroll) throw err.illegalArgument('`search_after` cannot be used in a scroll context.');
  if (!first) return;
  const window = Math.min(...indices.map((i) => i.maxResultWindow));
  if (scroll && size > window) {
    throw err.shardFailure(
      err.illegalArgument(
        `Batch size is too large, size must be less than or equal to: [${window}] but was [${size}]. Scroll batch sizes cost as much memory as result windows so they are controlled by the [index.max_result_window] index level setting.`,
      ),
      first.name,
    );
  }
  if (!scroll && from + size > window) {
    throw err.shardFailure(
      err.illegalArgument(
        `Result window is too large, from + size must be less than or equal to: [${window}] but was [${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`,
      ),
      first.name,
    );
  }
}

/** POST /_search/scroll: the next page of a scroll context. */
export function scrollNext(deps: SearchDeps, req: EsRequest, pathId: string | undefined): EsResponse {
  const started = Date.now();
  checkParams(req, ['scroll', 'scroll_id', 'rest_total_hits_as_int']);
  const body = bodyObject(req);
  const id = (typeof body.scroll_id === 'string' ? body.scroll_id : undefined) ?? req.qs.get('scroll_id') ?? pathId;
  if (id === undefined || id === null) throw err.validation('scrollId is missing');
  const keepAlive = (typeof body.scroll === 'string' ? body.scroll : undefined) ?? req.qs.get('scroll') ?? undefined;
  const ctx: ScrollContext = deps.contexts.scroll(id, keepAlive);
  const page = ctx.hits.slice(ctx.cursor, ctx.cursor + ctx.size);
  ctx.cursor += page.length;
  let total = ctx.total;
  if (boolParam(req.qs, 'rest_total_hits_as_int', false) && isObject(total)) total = total.value;
  return { status: 200, body: { _scroll_id: ctx.id, ...searchResponse(started, ctx.shards, total, ctx.maxScore, page, ctx.render) } };
}

/** DELETE /_search/scroll: ES answers 404 (same body shape) when nothing was freed. */
export function clearScroll(deps: SearchDeps, req: EsRequest, pathIds: string | undefined): EsResponse {
  const body = bodyObject(req);
  const raw = body.scroll_id ?? req.qs.get('scroll_id') ?? pathIds;
  const ids = typeof raw === 'string' ? splitList(raw) : Array.isArray(raw) ? raw.map(String) : [];
  if (ids.length === 0) throw err.validation('no scroll ids specified');
  const freed = deps.contexts.clearScrolls(ids.includes('_all') ? 'all' : ids);
  return { status: freed === 0 ? 404 : 200, body: { succeeded: true, num_freed: freed } };
}

function countMatches(indices: IndexState[], query: Query, now: number): number {
  let n = 0;
  for (const index of indices) {
    const matcher = compileForShard(query, index, now);
    for (const doc of index.docs.values()) if (matcher(doc) !== undefined) n++;
  }
  return n;
}

export function count(deps: SearchDeps, indexExpr: string | undefined, req: EsRequest): EsResponse {
  checkParams(req, COUNT_PARAMS);
  if (req.qs.has('q')) throw err.unsupportedQuery('query_string (q= parameter)');
  const body = bodyObject(req);
  for (const k of Object.keys(body)) if (k !== 'query') throw err.parsing(`request does not support [${k}]`);
  const query = body.query === undefined ? MATCH_ALL : parseQuery(body.query);
  const indices = deps.store.resolve(indexExpr, resolveOptions(req));
  const n = countMatches(indices, query, Date.now());
  return { status: 200, body: { count: n, _shards: shards(indices.length) } };
}

export function openPit(deps: SearchDeps, indexExpr: string, req: EsRequest): EsResponse {
  checkParams(req, [...RESOLVE_PARAMS, 'keep_alive', 'preference', 'routing', 'allow_partial_search_results']);
  const body = bodyObject(req);
  if (body.index_filter !== undefined) throw err.unsupported('open_point_in_time index_filter');
  const keepAlive = req.qs.get('keep_alive');
  if (keepAlive === null) throw err.validation('[keep_alive] is not specified');
  const indices = deps.store.resolve(indexExpr, resolveOptions(req));
  const pit = deps.contexts.openPit(indices, keepAlive);
  return { status: 200, body: { id: pit.id, _shards: shards(indices.length) } };
}

export function closePit(deps: SearchDeps, req: EsRequest): EsResponse {
  const body = bodyObject(req);
  if (typeof body.id !== 'string') throw err.validation('id is missing');
  const freed = deps.contexts.closePit(body.id);
  return { status: freed === 0 ? 404 : 200, body: { succeeded: true, num_freed: freed } };
}
