// Sort specs, per-hit sort keys (echoed as each hit's `sort` array, dates as
// epoch millis like ES), a total order for hits and search_after positioning.

import { parseDate } from './date-math.js';
import { EsError, err } from './errors.js';
import type { IndexState, StoredDoc } from './index-state.js';
import type { DocValue, FieldDef, Scalar } from './mapping.js';
import { compareScalars } from './query.js';
import { isObject, splitList } from './util.js';

type Order = 'asc' | 'desc';
type Mode = 'min' | 'max' | 'avg' | 'sum' | 'median';

export type SortClause =
  | { kind: 'field'; field: string; order: Order; missing: Scalar; unmappedType?: string; mode?: Mode; format?: string }
  | { kind: 'score'; order: Order }
  | { kind: 'doc'; order: Order }
  | { kind: 'shard_doc'; order: Order };

export type SortValue = number | string | null;

export interface Hit {
  readonly doc: StoredDoc;
  readonly index: IndexState;
  /** Position of the index in the request's target list (shard order). */
  readonly pos: number;
  readonly score: number;
  readonly keys: SortValue[];
}

// ES uses Long.MIN/MAX_VALUE as the sort value of docs missing a numeric field.
// (2^63 as a double, which is how JSON clients see 9223372036854775807.)
const LONG_MAX = 2 ** 63;
const LONG_MIN = -(2 ** 63);
const SHARD_SHIFT = 2 ** 32;

/** Parses body `sort` and/or querystring `sort=field:desc,...`; undefined = not specified. */
export function parseSort(body: unknown, qs: string | undefined): SortClause[] | undefined {
  const items: unknown[] = [];
  if (qs !== undefined) items.push(...splitList(qs));
  if (body !== undefined) items.push(...(Array.isArray(body) ? body : [body]));
  if (items.length === 0) return undefined;
  return items.flatMap(parseItem);
}

function parseItem(item: unknown): SortClause[] {
  if (typeof item === 'string') {
    const colon = item.lastIndexOf(':');
    const [field, order] = colon > 0 ? [item.slice(0, colon), item.slice(colon + 1)] : [item, undefined];
    return [clause(field, order === undefined ? {} : { order })];
  }
  if (!isObject(item)) throw err.parsing('[sort] malformed sort, expected string or object');
  return Object.entries(item).map(([field, spec]) => {
    if (typeof spec === 'string') return clause(field, { order: spec });
    if (!isObject(spec)) throw err.parsing(`[${field}] sort option malformed`);
    return clause(field, spec);
  });
}

function clause(field: string, spec: Record<string, unknown>): SortClause {
  if (field === '_geo_distance' || field === '_script') throw err.unsupported(`[${field}] sort`);
  const orderRaw = spec.order;
  if (orderRaw !== undefined && orderRaw !== 'asc' && orderRaw !== 'desc') {
    throw err.illegalArgument(`Unknown SortOrder [${String(orderRaw)}]`);
  }
  const order: Order | undefined = orderRaw;
  for (const k of Object.keys(spec)) {
    if (!['order', 'missing', 'unmapped_type', 'mode', 'format', 'numeric_type'].includes(k)) {
      if (k === 'nested') throw err.unsupported('nested sort');
      throw err.parsing(`[field_sort] unknown field [${k}]`);
    }
  }
  if (field === '_score') return { kind: 'score', order: order ?? 'desc' };
  if (field === '_doc') return { kind: 'doc', order: order ?? 'asc' };
  if (field === '_shard_doc') return { kind: 'shard_doc', order: order ?? 'asc' };
  const c: SortClause = { kind: 'field', field, order: order ?? 'asc', missing: '_last' };
  const missing = spec.missing;
  if (typeof missing === 'string' || typeof missing === 'number' || typeof missing === 'boolean') c.missing = missing;
  if (typeof spec.unmapped_type === 'string') c.unmappedType = spec.unmapped_type;
  if (typeof spec.format === 'string') c.format = spec.format;
  const mode = spec.mode;
  if (mode === 'min' || mode === 'max' || mode === 'avg' || mode === 'sum' || mode === 'median') c.mode = mode;
  else if (mode !== undefined) throw err.illegalArgument(`Unknown SortMode [${String(mode)}]`);
  return c;
}

/** Shard-level checks ES performs once the target indices are known. */
export function validateSort(sort: SortClause[], targets: IndexState[], withPit: boolean): void {
  for (const c of sort) {
    if (c.kind === 'shard_doc' && !withPit) {
      throw err.illegalArgument('[_shard_doc] sort field cannot be used without [point in time]');
    }
    if (c.kind !== 'field') continue;
    const defs = targets.map((t) => t.mapping.fields.get(c.field));
    const first = targets[0];
    if (first && c.unmappedType === undefined && defs.every((d) => d === undefined)) {
      throw err.shardFailure(new EsError(400, 'query_shard_exception', `No mapping found for [${c.field}] in order to sort on`, { index_uuid: first.uuid, index: first.name }), first.name);
    }
    const text = defs.find((d) => d?.kind === 'text');
    if (text && first) {
      throw err.shardFailure(
        err.illegalArgument(
          `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${c.field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.`,
        ),
        first.name,
      );
    }
  }
}

/** Computes a hit's sort keys for the given clauses. */
export function sortKeys(sort: SortClause[], index: IndexState, pos: number, doc: StoredDoc, score: number): SortValue[] {
  return sort.map((c) => {
    switch (c.kind) {
      case 'score':
        return score;
      case 'doc':
        return doc.ord;
      case 'shard_doc':
        return pos * SHARD_SHIFT + doc.ord;
      case 'field':
        return fieldKey(c, index.mapping.fields.get(c.field), doc.values.get(c.field));
    }
  });
}

function fieldKey(c: Extract<SortClause, { kind: 'field' }>, def: FieldDef | undefined, v: DocValue | undefined): SortValue {
  const values = v === undefined ? [] : Array.isArray(v) ? v : [v];
  const numeric = def ? def.kind !== 'keyword' : c.unmappedType !== 'keyword';
  if (values.length === 0) return missingKey(c, def, numeric);
  const nums = values.map((s) => (typeof s === 'boolean' ? (s ? 1 : 0) : s));
  if (!numeric) {
    const sorted = nums.map(String).sort();
    return (c.mode ?? (c.order === 'asc' ? 'min' : 'max')) === 'max' ? (sorted[sorted.length - 1] ?? null) : (sorted[0] ?? null);
  }
  const ns = nums.map(Number);
  switch (c.mode ?? (c.order === 'asc' ? 'min' : 'max')) {
    case 'min':
      return Math.min(...ns);
    case 'max':
      return Math.max(...ns);
    case 'sum':
      return ns.reduce((a, b) => a + b, 0);
    case 'avg':
      return ns.reduce((a, b) => a + b, 0) / ns.length;
    case 'median': {
      const s = [...ns].sort((a, b) => a - b);
      const mid = Math.floor(s.length / 2);
      return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
    }
  }
}

function missingKey(c: Extract<SortClause, { kind: 'field' }>, def: FieldDef | undefined, numeric: boolean): SortValue {
  if (c.missing === '_last' || c.missing === '_first') {
    if (!numeric) return null; // keyword: null, placed by the comparator
    const last = c.missing === '_last';
    return (c.order === 'asc') === last ? LONG_MAX : LONG_MIN;
  }
  if (!numeric) return String(c.missing);
  if (def?.kind === 'date') return parseDate(c.missing === true || c.missing === false ? String(c.missing) : c.missing) ?? null;
  return Number(c.missing);
}

function compareClause(c: SortClause, a: SortValue, b: SortValue): number {
  if (a === null || b === null) {
    if (a === b) return 0;
    const nullsLast = c.kind !== 'field' || c.missing !== '_first';
    return (a === null) === nullsLast ? 1 : -1;
  }
  const r = compareScalars(a, b);
  return c.order === 'desc' ? -r : r;
}

export function compareKeys(sort: SortClause[], a: SortValue[], b: SortValue[]): number {
  for (let i = 0; i < sort.length; i++) {
    const c = sort[i];
    if (!c) break;
    const r = compareClause(c, a[i] ?? null, b[i] ?? null);
    if (r !== 0) return r;
  }
  return 0;
}

/** Total order: the requested keys, then shard and doc order (what ES falls back to). */
export function hitComparator(sort: SortClause[]): (a: Hit, b: Hit) => number {
  return (a, b) => compareKeys(sort, a.keys, b.keys) || a.pos - b.pos || a.doc.ord - b.doc.ord;
}

/** Converts client-sent search_after values into comparable keys. */
export function searchAfterKeys(sort: SortClause[], after: unknown[], targets: IndexState[]): SortValue[] {
  if (after.length !== sort.length) {
    throw err.illegalArgument(`search_after has ${after.length} value(s) but sort has ${sort.length}.`);
  }
  return sort.map((c, i) => {
    const v = after[i];
    if (v === null || v === undefined) return null;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw err.illegalArgument(`Can't handle search_after field value of type [${typeof v}]`);
    }
    if (c.kind !== 'field') return Number(v);
    const def = targets.map((t) => t.mapping.fields.get(c.field)).find((d) => d !== undefined);
    if (def?.kind === 'date' && typeof v === 'string' && !/^-?\d+$/.test(v)) {
      const ms = parseDate(v, { format: c.format });
      if (ms === undefined) throw err.illegalArgument(`failed to parse date field [${v}]`);
      return ms;
    }
    if (def && def.kind !== 'keyword') return typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
    return String(v);
  });
}

/** Index of the first hit strictly after `after` (hits must be sorted by the same clauses). */
export function positionAfter(hits: Hit[], sort: SortClause[], after: SortValue[]): number {
  let lo = 0;
  let hi = hits.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const h = hits[mid];
    if (h && compareKeys(sort, h.keys, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Which clauses sort a date field with an explicit `format` (rendered as ISO strings). */
export function formattedDateClauses(sort: SortClause[], targets: IndexState[]): boolean[] {
  return sort.map(
    (c) => c.kind === 'field' && c.format !== undefined && targets.some((t) => t.mapping.fields.get(c.field)?.kind === 'date'),
  );
}

/** A hit's `sort` array as sent to the client: epoch millis for dates unless a format was given. */
export function renderSortValues(keys: SortValue[], formatted: boolean[]): SortValue[] {
  return keys.map((k, i) => {
    if (formatted[i] === true && typeof k === 'number' && k !== LONG_MAX && k !== LONG_MIN) {
      return new Date(k).toISOString();
    }
    return k;
  });
}
