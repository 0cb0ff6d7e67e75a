// Point-in-time and scroll contexts. A PIT is a real snapshot (copies of each
// index's doc list at open time, docs themselves are immutable), a scroll
// holds its fully ranked hit list, so paging is O(page) with no re-sorting.
// Expiry is checked lazily on access, so no timers keep the process alive.

import { randomBytes } from 'node:crypto';
import { err } from './errors.js';
import type { IndexState, StoredDoc } from './index-state.js';
import type { Hit, SortClause } from './sort.js';
import type { Render } from './response.js';

const MAX_KEEP_ALIVE_MS = 24 * 3_600_000; // search.max_keep_alive default

export interface PitContext {
  id: string;
  targets: Array<{ index: IndexState; docs: StoredDoc[] }>;
  expiresAt: number;
}

export interface ScrollContext {
  id: string;
  hits: Hit[];
  cursor: number;
  size: number;
  sort: SortClause[] | undefined;
  render: Render;
  total: unknown;
  maxScore: number | null;
  shards: number;
  expiresAt: number;
}

const UNITS: Record<string, number> = { nanos: 1e-6, micros: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** ES time values: `30s`, `1m`, `500ms`, `-1`. */
export function parseTimeValue(v: string, setting: string): number {
  const m = /^(-?\d+(?:\.\d+)?)(nanos|micros|ms|s|m|h|d)$/.exec(v.trim());
  if (!m) {
    throw err.illegalArgument(`failed to parse setting [${setting}] with value [${v}] as a time value: unit is missing or unrecognized`);
  }
  return Number(m[1]) * (UNITS[m[2] ?? 'ms'] ?? 1);
}

function keepAliveMs(v: string, setting: string): number {
  const ms = parseTimeValue(v, setting);
  if (ms > MAX_KEEP_ALIVE_MS) {
    throw err.illegalArgument(
      `Keep alive for request (${v}) is too large. It must be less than (1d). This limit can be set by changing the [search.max_keep_alive] cluster level setting.`,
    );
  }
  return ms;
}

function newId(kind: string): string {
  // Real ids are long opaque base64 blobs; clients must not parse them.
  return Buffer.from(`${kind}:${randomBytes(24).toString('base64url')}`).toString('base64');
}

export class Contexts {
  private readonly pits = new Map<string, PitContext>();
  private readonly scrolls = new Map<string, ScrollContext>();

  openPit(indices: IndexState[], keepAlive: string): PitContext {
    const ttl = keepAliveMs(keepAlive, 'keep_alive');
    this.sweep();
    const pit: PitContext = {
      id: newId('pit'),
      targets: indices.map((index) => ({ index, docs: [...index.docs.values()] })),
      expiresAt: Date.now() + ttl,
    };
    this.pits.set(pit.id, pit);
    return pit;
  }

  /** Looks up a PIT, extending it when the search passes a keep_alive. */
  pit(id: string, keepAlive: string | undefined): PitContext {
    const pit = this.pits.get(id);
    if (!pit || pit.expiresAt < Date.now()) {
      this.pits.delete(id);
      throw err.searchContextMissing(id);
    }
    if (keepAlive !== undefined) pit.expiresAt = Date.now() + keepAliveMs(keepAlive, 'keep_alive');
    return pit;
  }

  closePit(id: string): number {
    return this.pits.delete(id) ? 1 : 0;
  }

  openScroll(ctx: Omit<ScrollContext, 'id' | 'expiresAt'>, keepAlive: string): ScrollContext {
    const ttl = keepAliveMs(keepAlive, 'scroll');
    this.sweep();
    const scroll: ScrollContext = { ...ctx, id: newId('scroll'), expiresAt: Date.now() + ttl };
    this.scrolls.set(scroll.id, scroll);
    return scroll;
  }

  scroll(id: string, keepAlive: string | undefined): ScrollContext {
    const s = this.scrolls.get(id);
    if (!s || s.expiresAt < Date.now()) {
      this.scrolls.delete(id);
      throw err.searchContextMissing(id);
    }
    if (keepAlive !== undefined) s.expiresAt = Date.now() + keepAliveMs(keepAlive, 'scroll');
    return s;
  }

  clearScrolls(ids: string[] | 'all'): number {
    if (ids === 'all') {
      const n = this.scrolls.size;
      this.scrolls.clear();
      return n;
    }
    return ids.filter((id) => this.scrolls.delete(id)).length;
  }

  clear(): void {
    this.pits.clear();
    this.scrolls.clear();
  }

  /** Drops expired contexts so long test runs do not accumulate snapshots. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.pits) if (p.expiresAt < now) this.pits.delete(id);
    for (const [id, s] of this.scrolls) if (s.expiresAt < now) this.scrolls.delete(id);
  }
}
