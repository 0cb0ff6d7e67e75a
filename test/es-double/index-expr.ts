// Resolution of index expressions (`a,b`, `cdr-*`, `_all`, `-excluded`) the
// way ES does for search-like APIs, including ignore_unavailable /
// allow_no_indices.

import { err } from './errors.js';
import { globMatch, splitList } from './util.js';

export interface ResolveOptions {
  /** Skip missing concrete names instead of 404ing. */
  ignoreUnavailable: boolean;
  /** A wildcard (or the whole expression) may resolve to nothing. */
  allowNoIndices: boolean;
}

export const SEARCH_DEFAULTS: ResolveOptions = { ignoreUnavailable: false, allowNoIndices: true };

/** Returns existing index names, sorted (gives searches a stable shard order). */
export function resolveIndices(expr: string | undefined, existing: Iterable<string>, opts: ResolveOptions): string[] {
  const all = [...existing];
  const parts = splitList(expr);
  const visible = (name: string): boolean => !name.startsWith('.'); // hidden/system indices need explicit names
  const out = new Set<string>();
  if (parts.length === 0 || (parts.length === 1 && (parts[0] === '_all' || parts[0] === '*'))) {
    for (const n of all) if (visible(n)) out.add(n);
    if (out.size === 0 && !opts.allowNoIndices) throw err.indexNotFound(parts[0] ?? '_all');
    return [...out].sort();
  }
  let sawWildcard = false;
  for (const part of parts) {
    // `-x` only means exclusion after a wildcard expression, as in ES.
    if (part.startsWith('-') && sawWildcard) {
      const pattern = part.slice(1);
      for (const n of [...out]) if (globMatch(pattern, n)) out.delete(n);
      continue;
    }
    if (part.includes('*')) {
      sawWildcard = true;
      const matched = all.filter((n) => globMatch(part, n) && (visible(n) || part.startsWith('.')));
      if (matched.length === 0 && !opts.allowNoIndices) throw err.indexNotFound(part);
      for (const n of matched) out.add(n);
      continue;
    }
    if (all.includes(part)) out.add(part);
    else if (!opts.ignoreUnavailable) throw err.indexNotFound(part);
  }
  if (out.size === 0 && !opts.allowNoIndices) throw err.indexNotFound(parts.join(','));
  return [...out].sort();
}

export function hasWildcard(expr: string): boolean {
  return splitList(expr).some((p) => p.includes('*') || p === '_all');
}
