// `filter_path` response filtering (the client's scrollDocuments helper relies
// on it): dotted patterns, `*` within a segment, `**` across segments, and
// `-pattern` exclusions. Arrays are transparent, empty objects are dropped.

import { globMatch, isObject, splitList, type JsonObject } from './util.js';

type Pattern = string[];

export function applyFilterPath(body: unknown, filterPath: string): unknown {
  const all = splitList(filterPath);
  const includes = all.filter((p) => !p.startsWith('-')).map((p) => p.split('.'));
  const excludes = all.filter((p) => p.startsWith('-')).map((p) => p.slice(1).split('.'));
  let out: unknown = body;
  if (includes.length > 0) out = include(out, includes) ?? {};
  if (excludes.length > 0) out = exclude(out, excludes) ?? {};
  return out;
}

/** Patterns remaining after consuming `key`; `**` may consume zero or more segments. */
function advance(patterns: Pattern[], key: string): Pattern[] {
  const out: Pattern[] = [];
  const step = (p: Pattern): void => {
    const [head, ...rest] = p;
    if (head === undefined) return;
    if (head === '**') {
      out.push(p); // consume key, stay in **
      step(rest); // ** matches nothing
    } else if (globMatch(head, key)) {
      out.push(rest);
    }
  };
  patterns.forEach(step);
  return out;
}

function done(patterns: Pattern[]): boolean {
  return patterns.some((p) => p.length === 0 || (p.length === 1 && p[0] === '**'));
}

function include(node: unknown, patterns: Pattern[]): unknown {
  if (done(patterns)) return node;
  if (Array.isArray(node)) {
    const items = node.map((n) => include(n, patterns)).filter((n) => n !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (!isObject(node)) return undefined;
  const out: JsonObject = {};
  let any = false;
  for (const [k, v] of Object.entries(node)) {
    const next = advance(patterns, k);
    if (next.length === 0) continue;
    const kept = include(v, next);
    if (kept !== undefined) {
      out[k] = kept;
      any = true;
    }
  }
  return any ? out : undefined;
}

function exclude(node: unknown, patterns: Pattern[]): unknown {
  if (done(patterns)) return undefined;
  if (Array.isArray(node)) return node.map((n) => exclude(n, patterns)).filter((n) => n !== undefined);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    const next = advance(patterns, k);
    const kept = next.length === 0 ? v : exclude(v, next);
    if (kept !== undefined) out[k] = kept;
  }
  return out;
}
