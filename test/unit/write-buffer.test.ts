// The local write buffer: what a full disk, a read-only DATA_DIR or a locked
// SQLite file refuses is held in order, retried, and written once when it can be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Database } from '../../src/storage/sqlite.js';
import { pino } from 'pino';
import { DateTime } from 'luxon';
import { WriteBuffer, isLocalWriteFailure } from '../../src/durability/write-buffer.js';
import { JournalWriter } from '../../src/durability/journal-writer.js';
import { Journal } from '../../src/cdr/journal.js';
import { storageReadiness } from '../../src/durability/app-helpers.js';
import { makeCdr } from '../support/fixtures/cdrs.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('wbuf-test-');

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}
const full = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

test('classifies disk and file errors as local write failures, not record errors', () => {
  for (const code of ['SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR_WRITE', 'SQLITE_CANTOPEN', 'ENOSPC', 'EROFS']) {
    assert.equal(isLocalWriteFailure(Object.assign(new Error(code), { code })), true, code);
  }
  for (const e of [new Error('journal: invalid @timestamp'), Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT' }), null]) assert.equal(isLocalWriteFailure(e), false);
});

test('holds items in order while writes fail, one log line per state change, and writes each once when the disk frees', () => {
  const { log, lines } = logSink();
  let broken = true;
  const written: number[] = [];
  const states: string[] = [];
  const b = new WriteBuffer<number, number>({
    name: 'journal',
    max: 100,
    log,
    retryBaseMs: 60_000, // the test drives flush() itself
    write: (n) => {
      if (broken) throw full();
      written.push(n);
      return n;
    },
    onStateChange: (s) => states.push(s),
  });
  assert.deepEqual(b.submit(1), { status: 'buffered' });
  for (let i = 2; i <= 5; i++) assert.equal(b.submit(i).status, 'buffered');
  b.flush();
  b.flush();
  assert.equal(b.size, 5);
  assert.equal(b.state, 'buffering');
  assert.ok(b.failingSince);
  broken = false;
  // A new item while others wait goes behind them, not before.
  assert.equal(b.submit(6).status, 'buffered');
  b.flush();
  assert.deepEqual(written, [1, 2, 3, 4, 5, 6]);
  assert.equal(b.size, 0);
  assert.deepEqual(states, ['buffering', 'ok']);
  assert.deepEqual(b.submit(7), { status: 'written', result: 7 });
  const stateLines = lines.filter((l) => /DATA_DIR/.test(String(l.msg)));
  assert.deepEqual(stateLines.map((l) => l.msg), ['cannot write to DATA_DIR; holding records in memory and retrying', 'DATA_DIR writable again; every held record written']);
  b.close();
});

test('bounded: beyond max new items are refused, counted, logged once', () => {
  const { log, lines } = logSink();
  const b = new WriteBuffer<number, void>({ name: 'outbox', max: 3, log, retryBaseMs: 60_000, write: () => { throw full(); } });
  for (let i = 0; i < 3; i++) assert.equal(b.submit(i).status, 'buffered');
  for (let i = 0; i < 5; i++) assert.equal(b.submit(i).status, 'refused');
  assert.equal(b.refusedTotal, 5);
  assert.equal(lines.filter((l) => /buffer full/.test(String(l.msg))).length, 1);
  assert.match(storageReadiness(b).detail ?? '', /outbox: 3 records held in memory since .*5 refused .*SQLITE_FULL/);
  assert.equal(storageReadiness(b).ok, false);
  b.close();
});

test('retries on its own with backoff', async () => {
  let fails = 2;
  const written: string[] = [];
  const b = new WriteBuffer<string, void>({ name: 'j', max: 10, log: pino({ level: 'silent' }), retryBaseMs: 10, retryCapMs: 20, write: (s) => { if (fails-- > 0) throw full(); written.push(s); } });
  b.submit('a');
  b.submit('b');
  const deadline = Date.now() + 2000;
  while (b.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(written, ['a', 'b']);
});

test('an error about the record itself is thrown to the caller, not buffered', () => {
  const b = new WriteBuffer<number, void>({ name: 'j', max: 10, log: pino({ level: 'silent' }), write: () => { throw new Error('bad record'); } });
  assert.throws(() => b.submit(1), /bad record/);
  assert.equal(b.size, 0);
});

test('journal on a database at its size limit (max_page_count): CDRs held, then written once and in order', () => {
  const dir = tempDir();
  const journal = new Journal(dir);
  // Grow-proof cap: a second connection sets max_page_count on the file (the same effect as a full disk).
  const db = (journal as unknown as { db: Database }).db;
  const pages = Number(db.pragma('page_count', { simple: true }));
  db.pragma(`max_page_count = ${pages}`);
  const writer = new JournalWriter(journal, { max: 1000, log: pino({ level: 'silent' }) });
  const t0 = Date.UTC(2026, 0, 1);
  const docs = Array.from({ length: 200 }, (_, i) => makeCdr(i, { start: t0 + i * 1000 }));
  const outcomes = docs.map((d) => writer.append(d));
  assert.ok(outcomes.includes('buffered'), `some writes were refused by the size limit: ${[...new Set(outcomes)].join(',')}`);
  assert.equal(writer.failing, true);
  // A resend of a held CDR is not held twice.
  const heldDoc = docs[outcomes.indexOf('buffered')]!;
  assert.equal(writer.append(heldDoc), 'known');
  assert.equal(writer.has(heldDoc.id), true);
  db.pragma('max_page_count = 1073741823');
  writer.buffer.flush();
  assert.equal(writer.failing, false);
  const rows = [...journal.iterate(DateTime.fromMillis(0), DateTime.fromMillis(t0 + 10_000_000))];
  assert.equal(rows.length, 200, 'every CDR written');
  assert.equal(new Set(rows.map((r) => r.id)).size, 200, 'each once');
  const byRowid = db.prepare('SELECT id FROM records ORDER BY rowid').all() as { id: string }[];
  assert.deepEqual(byRowid.map((r) => r.id), docs.map((d) => d.id), 'in the order they arrived');
  journal.close();
});

test('outbox on a full database: the abandon in hand is held, then queued and notified once when the disk frees', async () => {
  const { Outbox } = await import('../../src/abandon/outbox.js');
  const { sampleRecord } = await import('./notify-helpers.js');
  const sent: string[] = [];
  const notifier = { channel: 'webhook' as const, send: async (n: { latest: { uniqueid: string } }) => void sent.push(n.latest.uniqueid) };
  const outbox = new Outbox({ dataDir: tempDir(), notifiers: [notifier], dedupeWindowMs: 0, log: pino({ level: 'silent' }), bufferMax: 100 });
  outbox.start();
  const db = (outbox as unknown as { store: { db: Database } }).store.db;
  db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true }))}`);
  const recs = Array.from({ length: 30 }, (_, i) => sampleRecord({ uniqueid: `170000000${i}.1`, id: `rec-${i}`, caller: { raw: `+1202555${String(i).padStart(4, '0')}`, e164: `+1202555${String(i).padStart(4, '0')}` } }));
  const results = recs.map((r) => outbox.enqueue(r));
  assert.ok(results.some((r) => r.held === 'buffered'), 'some abandons were held in memory');
  assert.equal(outbox.writes.state, 'buffering');
  db.pragma('max_page_count = 1073741823');
  outbox.writes.flush();
  const deadline = Date.now() + 5000;
  while (sent.length < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(sent.length, 30, 'every abandon notified');
  assert.equal(new Set(sent).size, 30, 'once each');
  await outbox.stop();
});
