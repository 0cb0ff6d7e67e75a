// Query evaluation over target indices: a linear scan plus one sort. Paging
// requests (PIT / search_after) reuse a cached ranking, so walking 200k docs
// page by page costs one sort instead of one per page.

import { EsError, err } from './errors.js';
import type { IndexState, StoredDoc } from './index-state.js';
import { compileQuery, type Matcher, type Query } from './query.js';
import { hitComparator, sortKeys, type Hit, type SortClause } from './sort.js';
import { BoundedMap } from '../../src/bounded-map.js';

export interface RankTarget {
  index: IndexState;
  docs: Iterable<StoredDoc>;
}

export interface Ranked {
  hits: Hit[];
  /** Highest score among all matches (null when nothing matched). */
  maxScore: number | null;
}

export function rank(targets: RankTarget[], query: Query, sort: SortClause[], now: number): Ranked {
  const hits: Hit[] = [];
  let maxScore: number | null = null;
  targets.forEach(({ index, docs }, pos) => {
    const matcher = compileForShard(query, index, now);
    for (const doc of docs) {
      const score = matcher(doc);
      if (score === undefined) continue;
      if (maxScore === null || score > maxScore) maxScore = score;
      hits.push({ doc, index, pos, score, keys: sortKeys(sort, index, pos, doc, score) });
    }
  });
  hits.sort(hitComparator(sort));
  return { hits, maxScore };
}

/** Errors raised while building the shard-level query come back wrapped, as in ES. */
export function compileForShard(query: Query, index: IndexState, now: number): Matcher {
  try {
    return compileQuery(query, index, now);
  } catch (e) {
    throw e instanceof EsError && e.type !== 'parsing_exception' ? err.shardFailure(e, index.name) : e;
  }
}

/** Tiny LRU; each entry can hold a few hundred thousand hits, so keep it small. */
export class RankCache {
  private readonly entries: BoundedMap<string, Ranked>;
  constructor(max = 4) {
    this.entries = new BoundedMap(max);
  }

  get(key: string): Ranked | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: Ranked): void {
    this.entries.delete(key);
    this.entries.set(key, value);
  }

  clear(): void {
    this.entries.clear();
  }
}
