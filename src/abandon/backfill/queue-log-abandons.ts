// Queue abandons Asterisk wrote to its queue_log while the router had no AMI
// session: `time|uniqueid|queue|agent|ABANDON|position|original position|waited`.
// ABANDON carries no caller number; the ENTERQUEUE line of the same uniqueid
// (`…|ENTERQUEUE|url|caller|position`) does. The file is read as a stream, once
// per gap, so a large queue_log never sits in memory.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { CountryCode } from 'libphonenumber-js';
import { DateTime } from 'luxon';
import { normalizeNumber } from '../../numbers.js';
import { BoundedMap } from '../../bounded-map.js';
import type { AbandonEvent } from '../sink.js';

export interface QueueLogGap {
  /** Epoch ms: abandons at or after this … */
  fromMs: number;
  /** … and at or before this were missed. */
  toMs: number;
}

export interface QueueLogScanOptions {
  region?: CountryCode;
  /** Queues whose lines the router wrote itself (router-phase abandons): never read back. */
  ownQueues?: readonly string[];
  /** How far before the gap to look for the ENTERQUEUE of a caller who waited long. Default 2 h. */
  enterLookbackMs?: number;
}

/** Parses one queue_log line; undefined for anything that is not `time|uniqueid|queue|agent|event|…`. */
export function parseQueueLogLine(line: string): { ms: number; uniqueid: string; queue: string; agent: string; event: string; data: string[] } | undefined {
  const f = line.split('|');
  if (f.length < 5 || !/^\d{9,11}$/.test(f[0]!)) return undefined;
  return { ms: Number(f[0]) * 1000, uniqueid: f[1]!, queue: f[2]!, agent: f[3]!, event: f[4]!, data: f.slice(5) };
}

const count = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);

/** The ABANDON lines of the gaps, as late AbandonEvents, oldest first. */
export async function scanQueueLogAbandons(path: string, gaps: readonly QueueLogGap[], o: QueueLogScanOptions = {}): Promise<AbandonEvent[]> {
  if (gaps.length === 0) return [];
  const earliest = Math.min(...gaps.map((g) => g.fromMs)) - (o.enterLookbackMs ?? 2 * 3600_000);
  const own = new Set(o.ownQueues ?? []);
  const callers = new BoundedMap<string, string>(50_000);
  const out: AbandonEvent[] = [];
  const input = createReadStream(path, { encoding: 'utf8' });
  // createReadStream reports a missing file as a stream error: make it the caller's rejection.
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  await opened;
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    const l = parseQueueLogLine(line);
    if (!l || l.ms < earliest) continue;
    if (l.event === 'ENTERQUEUE') {
      callers.set(l.uniqueid, l.data[1] ?? '');
      continue;
    }
    if (l.event !== 'ABANDON' || own.has(l.queue)) continue;
    if (!gaps.some((g) => l.ms >= g.fromMs && l.ms <= g.toMs)) continue;
    const raw = callers.get(l.uniqueid) ?? '';
    const ev: AbandonEvent = {
      source: 'queue',
      at: DateTime.fromMillis(l.ms, { zone: 'utc' }).toISO()!,
      caller: normalizeNumber(raw === '<unknown>' ? '' : raw, o.region),
      waitedMs: (count(l.data[2]) ?? 0) * 1000,
      uniqueid: l.uniqueid,
      queue: l.queue,
      late: true,
    };
    const position = count(l.data[0]);
    if (position !== undefined) ev.position = position;
    const original = count(l.data[1]);
    if (original !== undefined) ev.originalPosition = original;
    out.push(ev);
  }
  return out;
}
