// Reading back what the router's learning path stored: its journal (opened
// read-only next to the running router) and the CDR indices in Elasticsearch.
export { poll } from './wait.js';
import type { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { Journal } from '../../src/cdr/journal.js';
import type { CdrDocument } from '../../src/cdr/schema.js';
import type { RouterProcess } from './router.js';

/** Every CDR in the router's journal (any time), oldest first, optionally filtered. */
export function journalCdrs(dataDir: string, pred: (d: CdrDocument) => boolean = () => true): CdrDocument[] {
  const j = new Journal(dataDir, { readonly: true });
  try {
    const out: CdrDocument[] = [];
    for (const row of j.iterate(DateTime.fromMillis(0), DateTime.utc().plus({ days: 2 }))) {
      const d = JSON.parse(row.json) as CdrDocument;
      if (pred(d)) out.push(d);
    }
    return out;
  } finally {
    j.close();
  }
}

/** Journal counters: records waiting to be shipped, and the ids among them. */
export function journalBacklog(dataDir: string): { backlog: number; unshippedIds: Set<string> } {
  const j = new Journal(dataDir, { readonly: true });
  try {
    return { backlog: j.backlog(), unshippedIds: new Set(j.unshipped(100_000).map((r) => r.id)) };
  } finally {
    j.close();
  }
}

export interface EsHit {
  index: string;
  id: string;
  doc: CdrDocument;
}

/** CDR documents in `${prefix}-*` matching `query` (a plain search, not the router's). */
export async function esCdrs(es: Client, prefix: string, query: Record<string, unknown>): Promise<EsHit[]> {
  const res = await es.search<CdrDocument>({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true, size: 1000, query, sort: [{ '@timestamp': 'asc' }] });
  return res.hits.hits.map((h) => ({ index: h._index, id: h._id!, doc: h._source! }));
}

/** The router's decision line for `caller`, among the lines logged from index `from` on. */
export function decisionAfter(router: RouterProcess, caller: string, from: number, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return router.waitForLog(
    (l) => l.event === 'decision' && (l.caller as { raw?: string } | undefined)?.raw === caller && router.lines.indexOf(l) >= from,
    timeoutMs,
    `decision for ${caller}`,
  );
}

/** Waits until a freshly started router has loaded the agents' states (before that, every agent reads 'unknown'). */
export function agentStatesLoaded(router: RouterProcess): Promise<unknown> {
  return router.waitForLog((l) => l.msg === 'agent states loaded', 10_000, 'agent states loaded');
}
