// RECORDINGS_RETENTION: deletes recordings older than the retention (by the
// file's modification time, i.e. when the call ended) and marks their CDRs with
// recording.deleted_at, so Kibana and the search API stop offering them. Only
// files of the dialplan's shape are touched; anything else in the directory is
// left alone. Empty day/month/year directories are removed.
import { readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DateTime } from 'luxon';
import type { Logger } from '../log.js';
import { isRecordingPath } from './store.js';

export interface SweepOptions {
  dir: string;
  olderThan: DateTime;
  /** Marks the CDRs of these files (paths inside dir) as deleted at `at`. */
  markDeleted(files: string[], at: DateTime): Promise<void>;
  now: DateTime;
  log: Logger;
  /** Files marked per batch. */
  batch?: number;
}

export async function sweepRecordings(o: SweepOptions): Promise<{ deleted: number; kept: number }> {
  const cutoff = o.olderThan.toMillis();
  const batchSize = o.batch ?? 500;
  let deleted = 0;
  let kept = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const files = batch;
    batch = [];
    await o.markDeleted(files, o.now);
  };
  for (const year of await list(o.dir)) {
    if (!/^\d{4}$/.test(year)) continue;
    for (const month of await list(join(o.dir, year))) {
      for (const day of await list(join(o.dir, year, month))) {
        const dayDir = join(o.dir, year, month, day);
        for (const name of await list(dayDir)) {
          const rel = `${year}/${month}/${day}/${name}`;
          if (!isRecordingPath(rel)) continue;
          const st = await stat(join(dayDir, name)).catch(() => undefined);
          if (!st?.isFile()) continue;
          if (st.mtimeMs >= cutoff) {
            kept++;
            continue;
          }
          try {
            await unlink(join(dayDir, name));
            deleted++;
            batch.push(rel);
            if (batch.length >= batchSize) await flush();
          } catch (err) {
            o.log.warn({ file: rel, err: (err as Error).message }, 'retention could not delete a recording');
          }
        }
        await rmdir(dayDir).catch(() => undefined); // only when empty
      }
      await rmdir(join(o.dir, year, month)).catch(() => undefined);
    }
    await rmdir(join(o.dir, year)).catch(() => undefined);
  }
  await flush();
  return { deleted, kept };
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
