// Query DSL subset. Parsed once per request (so malformed or unsupported
// queries fail with 400 even when no index matches), then compiled per index
// because matching depends on that index's mapping.

import { resolveDateMath, parseTimeZone } from './date-math.js';
import { EsError, err } from './errors.js';
import type { IndexState, StoredDoc } from './index-state.js';
import type { DocValue, FieldDef, Scalar } from './mapping.js';
import { globMatch, isArray, isObject, type JsonObject } from './util.js';

type Op = 'gt' | 'gte' | 'lt' | 'lte';
type Bounds = Partial<Record<Op, Scalar>>;

export type Query =
  | { kind: 'match_all'; boost: number }
  | { kind: 'match_none' }
  | { kind: 'term'; field: string; value: Scalar; caseInsensitive: boolean; boost: number }
  | { kind: 'terms'; field: string; values: Scalar[]; boost: number }
  | { kind: 'range'; field: string; bounds: Bounds; format?: string; timeZone?: string; boost: number }
  | { kind: 'exists'; field: string; boost: number }
  | { kind: 'ids'; values: Set<string>; boost: number }
  | { kind: 'bool'; must: Query[]; filter: Query[]; should: Query[]; mustNot: Query[]; msm?: number | string; boost: number }
  | { kind: 'constant_score'; filter: Query; boost: number };

/** Score of a matching doc, or undefined when it does not match. */
export type Matcher = (doc: StoredDoc) => number | undefined;

export const MATCH_ALL: Query = { kind: 'match_all', boost: 1 };

// ---------------------------------------------------------------- parsing

export function parseQuery(q: unknown): Query {
  if (!isObject(q)) throw err.parsing('[_na] query malformed, must start with start_object');
  const keys = Object.keys(q);
  const name = keys[0];
  if (name === undefined) throw err.parsing('query malformed, empty clause found');
  if (keys.length > 1) throw err.parsing(`[${name}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]`);
  const body = q[name];
  switch (name) {
    case 'match_all':
      return { kind: 'match_all', boost: boostOf(objectBody(name, body), name, []) };
    case 'match_none':
      objectBody(name, body);
      return { kind: 'match_none' };
    case 'term':
      return parseTerm(objectBody(name, body));
    case 'terms':
      return parseTerms(objectBody(name, body));
    case 'range':
      return parseRange(objectBody(name, body));
    case 'exists': {
      const b = objectBody(name, body);
      if (typeof b.field !== 'string') throw err.parsing('[exists] must be provided with a [field]');
      return { kind: 'exists', field: b.field, boost: boostOf(b, name, ['field']) };
    }
    case 'ids': {
      const b = objectBody(name, body);
      const values = Array.isArray(b.values) ? b.values.map(String) : [];
      return { kind: 'ids', values: new Set(values), boost: boostOf(b, name, ['values']) };
    }
    case 'bool':
      return parseBool(objectBody(name, body));
    case 'constant_score': {
      const b = objectBody(name, body);
      if (b.filter === undefined) throw err.parsing('[constant_score] requires a \'filter\' element');
      return { kind: 'constant_score', filter: parseQuery(b.filter), boost: boostOf(b, name, ['filter']) };
    }
    default:
      // regexp, wildcard, prefix, query_string, match… are deliberately refused:
      // the project must not send them, and tests rely on this failing loudly.
      throw err.unsupportedQuery(name);
  }
}

function objectBody(name: string, body: unknown): JsonObject {
  if (!isObject(body)) throw err.parsing(`[${name}] query malformed, no start_object after query name`);
  return body;
}

function boostOf(b: JsonObject, name: string, allowed: string[]): number {
  for (const k of Object.keys(b)) {
    if (k !== 'boost' && k !== '_name' && !allowed.includes(k)) throw err.parsing(`[${name}] query does not support [${k}]`);
  }
  return typeof b.boost === 'number' ? b.boost : 1;
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** term / range carry exactly one field, besides boost/_name. */
function singleField(name: string, b: JsonObject): [string, unknown] {
  const fields = Object.entries(b).filter(([k]) => k !== 'boost' && k !== '_name');
  const [first, second] = fields;
  if (!first) throw err.parsing(`[${name}] query malformed, no field specified`);
  if (second) throw err.parsing(`[${name}] query doesn't support multiple fields, found [${first[0]}] and [${second[0]}]`);
  return first;
}

function parseTerm(b: JsonObject): Query {
  const [field, spec] = singleField('term', b);
  if (isObject(spec)) {
    for (const k of Object.keys(spec)) {
      if (!['value', 'boost', 'case_insensitive', '_name'].includes(k)) throw err.parsing(`[term] query does not support [${k}]`);
    }
    if (!isScalar(spec.value)) throw err.illegalArgument('value cannot be null');
    return {
      kind: 'term',
      field,
      value: spec.value,
      caseInsensitive: spec.case_insensitive === true,
      boost: typeof spec.boost === 'number' ? spec.boost : 1,
    };
  }
  if (!isScalar(spec)) throw err.illegalArgument('value cannot be null');
  return { kind: 'term', field, value: spec, caseInsensitive: false, boost: 1 };
}

function parseTerms(b: JsonObject): Query {
  const [field, values] = singleField('terms', b);
  if (isObject(values)) throw err.unsupported('terms lookup');
  if (!Array.isArray(values)) throw err.parsing(`[terms] query does not support [${field}]`);
  if (!values.every(isScalar)) throw err.parsing('[terms] no value specified for terms query');
  return { kind: 'terms', field, values, boost: typeof b.boost === 'number' ? b.boost : 1 };
}

function parseRange(b: JsonObject): Query {
  const [field, spec] = singleField('range', b);
  if (!isObject(spec)) throw err.parsing(`[range] query malformed, no start_object after query name`);
  const bounds: Bounds = {};
  let includeLower = true;
  let includeUpper = true;
  let from: Scalar | undefined;
  let to: Scalar | undefined;
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'gt' || k === 'gte' || k === 'lt' || k === 'lte') {
      if (v === null) continue; // null bound = unbounded, as in ES
      if (!isScalar(v)) throw err.parsing(`[range] query does not support [${k}] value`);
      bounds[k] = v;
    } else if (k === 'from' || k === 'to') {
      if (v !== null && !isScalar(v)) throw err.parsing(`[range] query does not support [${k}] value`);
      if (k === 'from') from = v ?? undefined;
      else to = v ?? undefined;
    } else if (k === 'include_lower') includeLower = v !== false;
    else if (k === 'include_upper') includeUpper = v !== false;
    else if (!['format', 'time_zone', 'boost', 'relation', '_name'].includes(k)) {
      throw err.parsing(`[range] query does not support [${k}]`);
    }
  }
  // Legacy from/to syntax is still accepted by ES 8.
  if (from !== undefined) bounds[includeLower ? 'gte' : 'gt'] = from;
  if (to !== undefined) bounds[includeUpper ? 'lte' : 'lt'] = to;
  const q: Query = { kind: 'range', field, bounds, boost: typeof spec.boost === 'number' ? spec.boost : 1 };
  if (typeof spec.format === 'string') q.format = spec.format;
  if (typeof spec.time_zone === 'string') q.timeZone = spec.time_zone;
  return q;
}

function parseBool(b: JsonObject): Query {
  const clauses = (key: string): Query[] => {
    const v = b[key];
    if (v === undefined) return [];
    return (isArray(v) ? v : [v]).map(parseQuery);
  };
  for (const k of Object.keys(b)) {
    if (!['must', 'filter', 'should', 'must_not', 'minimum_should_match', 'boost', '_name', 'adjust_pure_negative'].includes(k)) {
      throw err.parsing(`[bool] query does not support [${k}]`);
    }
  }
  const q: Query = {
    kind: 'bool',
    must: clauses('must'),
    filter: clauses('filter'),
    should: clauses('should'),
    mustNot: clauses('must_not'),
    boost: typeof b.boost === 'number' ? b.boost : 1,
  };
  const msm = b.minimum_should_match;
  if (typeof msm === 'number' || typeof msm === 'string') q.msm = msm;
  return q;
}

// ---------------------------------------------------------------- compiling

export function compileQuery(q: Query, index: IndexState, now: number): Matcher {
  switch (q.kind) {
    case 'match_all':
      return () => q.boost;
    case 'match_none':
      return () => undefined;
    case 'ids':
      return (doc) => (q.values.has(doc.id) ? q.boost : undefined);
    case 'exists': {
      const fields = resolveFields(index, q.field);
      return (doc) => (fields.some((f) => hasValue(doc.values.get(f))) ? q.boost : undefined);
    }
    case 'term':
    case 'terms': {
      const field = index.mapping.fields.get(q.field);
      if (!field) return () => undefined; // unmapped fields match nothing
      const values = q.kind === 'term' ? [q.value] : q.values;
      const preds = values.map((v) => termPredicate(field, v, q.kind === 'term' && q.caseInsensitive, now));
      const pred = (s: Scalar): boolean => preds.some((p) => p(s));
      return (doc) => (anyValue(doc.values.get(q.field), pred) ? q.boost : undefined);
    }
    case 'range': {
      const field = index.mapping.fields.get(q.field);
      if (!field) return () => undefined;
      const pred = rangePredicate(field, q, now);
      return (doc) => (anyValue(doc.values.get(q.field), pred) ? q.boost : undefined);
    }
    case 'constant_score': {
      const inner = compileQuery(q.filter, index, now);
      return (doc) => (inner(doc) === undefined ? undefined : q.boost);
    }
    case 'bool':
      return compileBool(q, index, now);
  }
}

function compileBool(q: Extract<Query, { kind: 'bool' }>, index: IndexState, now: number): Matcher {
  const must = q.must.map((c) => compileQuery(c, index, now));
  const filter = q.filter.map((c) => compileQuery(c, index, now));
  const should = q.should.map((c) => compileQuery(c, index, now));
  const mustNot = q.mustNot.map((c) => compileQuery(c, index, now));
  const required = minimumShouldMatch(q.msm, should.length, must.length + filter.length > 0);
  return (doc) => {
    let score = 0;
    for (const m of must) {
      const s = m(doc);
      if (s === undefined) return undefined;
      score += s;
    }
    for (const f of filter) if (f(doc) === undefined) return undefined;
    for (const n of mustNot) if (n(doc) !== undefined) return undefined;
    if (should.length > 0) {
      let matched = 0;
      for (const s of should) {
        const r = s(doc);
        if (r !== undefined) {
          matched++;
          score += r;
        }
      }
      if (matched < required) return undefined;
    }
    return score * q.boost;
  };
}

function minimumShouldMatch(msm: number | string | undefined, count: number, hasRequired: boolean): number {
  if (msm === undefined) return count > 0 && !hasRequired ? 1 : 0;
  const s = String(msm).trim();
  let n: number;
  if (s.endsWith('%')) {
    const pct = Number(s.slice(0, -1));
    n = pct < 0 ? count - Math.floor((count * -pct) / 100) : Math.floor((count * pct) / 100);
  } else {
    const v = Number(s);
    if (!Number.isInteger(v)) throw err.illegalArgument(`unsupported minimum_should_match [${s}]`);
    n = v < 0 ? count + v : v;
  }
  return Math.max(0, Math.min(count, n));
}

/** Field names for exists (which allows wildcards, expanding against the mapping). */
function resolveFields(index: IndexState, pattern: string): string[] {
  if (!pattern.includes('*')) {
    // exists on an object field checks any of its sub-fields.
    if (index.mapping.isObject(pattern)) return [...index.mapping.fields.keys()].filter((f) => f.startsWith(`${pattern}.`));
    return [pattern];
  }
  return [...index.mapping.fields.keys()].filter((f) => globMatch(pattern, f));
}

function hasValue(v: DocValue | undefined): boolean {
  return v !== undefined && (!Array.isArray(v) || v.length > 0);
}

function anyValue(v: DocValue | undefined, pred: (s: Scalar) => boolean): boolean {
  if (v === undefined) return false;
  if (!Array.isArray(v)) return pred(v);
  for (const s of v) if (pred(s)) return true;
  return false;
}

function shardError(type: string, reason: string): EsError {
  return new EsError(400, type, reason);
}

function toNumber(field: FieldDef, v: Scalar): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) {
    throw shardError('query_shard_exception', `failed to create query: For input string: "${String(v)}" (field [${field.path}] of type [${field.type}])`);
  }
  return n;
}

function toBoolean(field: FieldDef, v: Scalar): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false' || v === '') return false;
  throw shardError('query_shard_exception', `failed to create query: Can't parse boolean value [${String(v)}], expected [true] or [false] (field [${field.path}])`);
}

function termPredicate(field: FieldDef, value: Scalar, caseInsensitive: boolean, now: number): (s: Scalar) => boolean {
  switch (field.kind) {
    case 'keyword':
    case 'text': {
      // Term queries are not analysed: on text fields they compare against tokens.
      const want = caseInsensitive ? String(value).toLowerCase() : String(value);
      return caseInsensitive ? (s) => String(s).toLowerCase() === want : (s) => s === want;
    }
    case 'numeric': {
      const n = toNumber(field, value);
      return (s) => s === n;
    }
    case 'date': {
      // ES turns a date term into a range covering the value's precision.
      const lo = resolveDateMath(dateInput(value), now, false, { format: field.format });
      const hi = resolveDateMath(dateInput(value), now, true, { format: field.format });
      return (s) => typeof s === 'number' && s >= lo && s <= hi;
    }
    case 'boolean': {
      const b = toBoolean(field, value);
      return (s) => s === b;
    }
  }
}

const ROUND_UP: Record<Op, boolean> = { gt: true, gte: false, lt: false, lte: true };

function rangePredicate(field: FieldDef, q: Extract<Query, { kind: 'range' }>, now: number): (s: Scalar) => boolean {
  const ops = Object.entries(q.bounds) as Array<[Op, Scalar]>;
  let convert: (op: Op, v: Scalar) => Scalar;
  switch (field.kind) {
    case 'date': {
      const tz = q.timeZone === undefined ? 0 : parseTimeZone(q.timeZone);
      const format = q.format ?? field.format;
      convert = (op, v) => resolveDateMath(dateInput(v), now, ROUND_UP[op], { format, timeZoneOffsetMs: tz });
      break;
    }
    case 'numeric':
      convert = (_op, v) => toNumber(field, v);
      break;
    case 'boolean':
      convert = (_op, v) => (toBoolean(field, v) ? 1 : 0);
      break;
    default:
      convert = (_op, v) => String(v);
  }
  const checks = ops.map(([op, raw]) => {
    const bound = convert(op, raw);
    return (s: Scalar): boolean => {
      const c = compareScalars(s, bound);
      return op === 'gt' ? c > 0 : op === 'gte' ? c >= 0 : op === 'lt' ? c < 0 : c <= 0;
    };
  });
  return (s) => checks.every((c) => c(s));
}

function dateInput(v: Scalar): string | number {
  return typeof v === 'boolean' ? String(v) : v;
}

/** Numbers numerically, everything else as strings (keyword ranges are lexicographic). */
export function compareScalars(a: Scalar, b: Scalar): number {
  const x = typeof a === 'boolean' ? (a ? 1 : 0) : a;
  const y = typeof b === 'boolean' ? (b ? 1 : 0) : b;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  const sx = String(x);
  const sy = String(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

/** Every query type named in a (possibly nested) query body; handy for request-log assertions. */
export function queryTypesIn(q: unknown): string[] {
  const out: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isObject(node)) return;
    for (const [k, v] of Object.entries(node)) {
      out.push(k);
      if (k === 'bool' && isObject(v)) {
        for (const c of ['must', 'filter', 'should', 'must_not']) visit(v[c]);
      } else if (k === 'constant_score' && isObject(v)) visit(v.filter);
    }
  };
  visit(q);
  return out;
}
