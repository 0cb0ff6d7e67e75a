// `_source` filtering for hits and GET doc (true/false, field lists with
// wildcards, includes/excludes), matching ES's "a" ⇒ "a" and everything below.

import { err } from './errors.js';
import { globMatch, isArray, isObject, splitList, type JsonObject } from './util.js';

export interface SourceSpec {
  enabled: boolean;
  includes: string[];
  excludes: string[];
}

const ALL: SourceSpec = { enabled: true, includes: [], excludes: [] };

/** Body `_source` plus the `_source`, `_source_includes`, `_source_excludes` query params. */
export function parseSourceSpec(body: unknown, qs: URLSearchParams): SourceSpec {
  const spec: SourceSpec = { ...ALL, includes: [], excludes: [] };
  const qsSource = qs.get('_source');
  const raw: unknown = qsSource !== null ? qsToSource(qsSource) : body;
  if (raw === false) spec.enabled = false;
  else if (typeof raw === 'string') spec.includes = splitList(raw);
  else if (Array.isArray(raw)) spec.includes = raw.map(String);
  else if (isObject(raw)) {
    for (const k of Object.keys(raw)) {
      if (!['includes', 'include', 'excludes', 'exclude'].includes(k)) throw err.parsing(`[_source] unknown field [${k}]`);
    }
    spec.includes = listOf(raw.includes ?? raw.include);
    spec.excludes = listOf(raw.excludes ?? raw.exclude);
  } else if (raw !== undefined && raw !== true) {
    throw err.parsing('[_source] malformed, expected boolean, string, array or object');
  }
  const inc = qs.get('_source_includes');
  const exc = qs.get('_source_excludes');
  if (inc !== null) spec.includes = splitList(inc);
  if (exc !== null) spec.excludes = splitList(exc);
  if (inc !== null || exc !== null) spec.enabled = true;
  return spec;
}

function qsToSource(v: string): unknown {
  if (v === 'false') return false;
  if (v === 'true' || v === '') return true;
  return v;
}

function listOf(v: unknown): string[] {
  if (v === undefined) return [];
  return (isArray(v) ? v : [v]).map(String);
}

export function filterSource(source: JsonObject, spec: SourceSpec): JsonObject {
  if (spec.includes.length === 0 && spec.excludes.length === 0) return source;
  return filterObject(source, '', spec, spec.includes.length === 0) ?? {};
}

function filterObject(obj: JsonObject, prefix: string, spec: SourceSpec, parentIncluded: boolean): JsonObject | undefined {
  const out: JsonObject = {};
  let any = false;
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (spec.excludes.some((p) => globMatch(p, path))) continue;
    const included = parentIncluded || spec.includes.some((p) => globMatch(p, path));
    const kept = filterValue(v, path, spec, included);
    if (kept !== undefined) {
      out[k] = kept;
      any = true;
    }
  }
  return any || parentIncluded ? out : undefined;
}

function filterValue(v: unknown, path: string, spec: SourceSpec, included: boolean): unknown {
  if (isObject(v)) return filterObject(v, path, spec, included);
  if (Array.isArray(v)) {
    const items = v.map((e) => filterValue(e, path, spec, included)).filter((e) => e !== undefined);
    return included || items.length > 0 ? items : undefined;
  }
  return included ? v : undefined;
}
