// Shared by the notify-* tests: sample records, local HTTP receivers on
// 127.0.0.1, a log capture, and a poll-until helper. Not a test file itself.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
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

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Reply = (req: ReceivedRequest, res: ServerResponse) => void;

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  server: Server;
  close(): Promise<void>;
}

/** An HTTP receiver on 127.0.0.1 (port 0 = any free port). `reply` decides the answer; 200 "ok" by default. */
export async function startReceiver(reply: Reply = (_q, res) => res.end('ok'), port = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      reply(r, res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    requests,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A port nothing listens on (yet): connections are refused until a receiver starts there. */
export async function freePort(): Promise<number> {
  const r = await startReceiver();
  await r.close();
  return r.port;
}

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

export async function waitUntil(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-outbox-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
