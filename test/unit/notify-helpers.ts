// Shared by the notify-* tests: sample records, a log capture and a temp dir; the HTTP
// receiver is test/support/http-receiver.ts. Not a test file itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { poll } from '../support/wait.js';
import { AbandonRecord, abandonId, type AbandonFields } from '../../src/abandon/record.js';
import type { Notification } from '../../src/abandon/notification.js';

export function sampleRecord(over: Partial<AbandonFields> = {}): AbandonRecord {
  const uniqueid = over.uniqueid ?? '1763726400.17';
  const source = over.source ?? 'queue';
  return new AbandonRecord({
    id: abandonId(uniqueid, source),
    '@timestamp': '2026-11-21T12:00:00.000Z',
    source,
    caller: { raw: '0961234567', e164: '+380961234567' },
    did: '5551000',
    queue: 'support',
    waited_seconds: 34,
    position: 1,
    original_position: 2,
    sticky_agent: '1002',
    uniqueid,
    linkedid: uniqueid,
    ...over,
  });
}

export function sampleNotification(over: Partial<Notification> = {}): Notification {
  const r = sampleRecord();
  return { id: `abandon-${r.id}-1`, groupId: r.id, seq: 1, count: 1, first: r, latest: r, ...over };
}

export { startHttpReceiver as startReceiver, unusedPort as freePort, type HttpReceiver as Receiver, type ReceivedRequest } from '../support/http-receiver.js';

export function captureLog(level = 'debug'): { log: Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  const out: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = pino({ level }, dest);
  return { log, text: () => out.join(''), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Throws after timeoutMs: these tests fail when what they wait for does not happen. */
export async function waitUntil(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  await poll(pred, (v) => v, timeoutMs, what, 10);
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-outbox-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
