// Small pieces the composition root wires: readiness details and the
// journal-only janitor.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { DateTime } from 'luxon';
import type { Journal } from '../cdr/journal.js';
import type { Logger } from '../log.js';

/** What readiness reads of a WriteBuffer. */
export interface BufferState {
  readonly name: string;
  readonly size: number;
  readonly failingSince: number | undefined;
  readonly refusedTotal: number;
  readonly lastError: string | undefined;
}

/** /readyz `storage`: not ready while any record waits in memory for DATA_DIR. */
export function storageReadiness(...buffers: BufferState[]): { ok: boolean; detail?: string } {
  const held = buffers.filter((b) => b.size > 0);
  if (held.length === 0) return { ok: true };
  const parts = held.map((b) => {
    const since = b.failingSince !== undefined ? ` since ${new Date(b.failingSince).toISOString()}` : '';
    const refused = b.refusedTotal > 0 ? `, ${b.refusedTotal} refused (buffer full)` : '';
    return `${b.name}: ${b.size} records held in memory${since}${refused} (${b.lastError ?? 'write failed'})`;
  });
  return { ok: false, detail: `DATA_DIR cannot be written: ${parts.join('; ')}` };
}

/** /readyz `notifications`: ready either way, but says what was given up on and how to retry. */
export function failedNotificationsDetail(counts: Record<string, { pending: number; failed: number }>): { ok: boolean; detail?: string } {
  const failed = Object.entries(counts).filter(([, c]) => c.failed > 0);
  if (failed.length === 0) return { ok: true };
  const total = failed.reduce((n, [, c]) => n + c.failed, 0);
  return {
    ok: true,
    detail: `${total} notification(s) failed for good (${failed.map(([ch, c]) => `${ch}: ${c.failed}`).join(', ')}); fix the receiver, then \`sticky-router notifications requeue\``,
  };
}

const PRUNE_BATCH = 5000;

/**
 * Journal-only mode keeps JOURNAL_RETENTION of records: deletes in batches until
 * none is older, yielding between batches so calls are never held up, however
 * many records a busy day left behind.
 */
export async function pruneJournalOnly(journal: Journal, retentionMs: number, log: Logger, batch = PRUNE_BATCH): Promise<number> {
  const before = DateTime.utc().minus({ milliseconds: retentionMs });
  let total = 0;
  try {
    for (;;) {
      const n = journal.pruneOlderThan(before, batch);
      total += n;
      if (n < batch) break;
      await yieldToEventLoop();
    }
  } catch (err) {
    log.warn({ err, pruned: total }, 'journal prune failed; retrying at the next run');
  }
  if (total > 0) log.info({ pruned: total, before: before.toISO() }, 'journal pruned');
  return total;
}
