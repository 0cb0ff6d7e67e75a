import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/storage/sqlite.js';
import { DateTime } from 'luxon';
import { Journal } from '../../src/cdr/journal.js';
import { makeCdr } from '../support/fixtures/cdrs.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'journal-test-'));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const t0 = Date.UTC(2025, 5, 1, 10);
const at = (ms: number) => DateTime.fromMillis(ms, { zone: 'utc' });

test('creates the directory, uses WAL, and dedupes by id (an AMI resend is not a second record)', () => {
  const dir = join(tempDir(), 'nested', 'data');
  const j = new Journal(dir);
  const doc = makeCdr(1, { start: t0 });
  assert.equal(j.append(doc), true);
  assert.equal(j.append({ ...doc }), false);
  assert.equal(j.appendMany([makeCdr(1, { start: t0 }), makeCdr(2, { start: t0 }), makeCdr(3, { start: t0 })]), 2);
  assert.equal(j.backlog(), 3);
  j.close();
  const raw = new Database(join(dir, 'journal.sqlite'));
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  raw.close();
});

test('unshipped → markShipped → backlog; rejected records leave the queue but stay', () => {
  const j = new Journal(tempDir());
  j.appendMany(Array.from({ length: 10 }, (_, i) => makeCdr(i, { start: t0 })));
  const first = j.unshipped(4);
  assert.deepEqual(first.map((r) => r.id), [0, 1, 2, 3].map((i) => makeCdr(i, { start: t0 }).id), 'oldest first');
  assert.equal(first[0]?.kind, 'cdr');
  assert.equal(first[0]?.ts, t0);
  assert.deepEqual(JSON.parse(first[0]?.json ?? ''), makeCdr(0, { start: t0 }));
  j.markShipped(first.map((r) => r.id), at(t0));
  assert.equal(j.backlog(), 6);
  j.markRejected([{ id: makeCdr(4, { start: t0 }).id, error: 'HTTP 400 mapper_parsing_exception' }]);
  assert.equal(j.backlog(), 5);
  assert.equal(j.rejected(), 1);
  assert.equal(j.unshipped(100)[0]?.id, makeCdr(5, { start: t0 }).id);
  j.close();
});

test('lastAgentFor: the latest talked conversation since the cutoff, through the (customer_e164, ts) index', () => {
  const dir = tempDir();
  const j = new Journal(dir);
  const c = '+12025550100';
  const base = makeCdr(0, { start: t0 });
  const rec = (id: string, minutes: number, agent: string, talked: boolean, customer = c) => ({
    ...base, id, '@timestamp': new Date(t0 + minutes * 60_000).toISOString(), agent, talked, customer_e164: customer, talk_seconds: minutes,
  });
  j.appendMany([
    rec('a', 0, '1001', true),
    rec('b', 10, '1002', true),
    rec('c', 20, '1003', false), // rang, not talked: does not count
    rec('d', 25, '1001', true, '+12025550199'), // another customer
  ]);
  assert.deepEqual(j.lastAgentFor(c, at(t0)), { agent: '1002', endedAt: at(t0 + 10 * 60_000), talkSeconds: 10 });
  assert.equal(j.lastAgentFor(c, at(t0 + 11 * 60_000)), undefined);
  assert.equal(j.lastAgentFor('+10000000000', at(0)), undefined);
  j.close();

  const raw = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const plan = raw
    .prepare(`EXPLAIN QUERY PLAN SELECT agent, ts FROM records INDEXED BY records_customer_ts WHERE customer_e164 = ? AND ts >= ? AND talked = 1 AND kind = 'cdr' AND agent IS NOT NULL ORDER BY ts DESC LIMIT 1`)
    .all(c, 0) as { detail: string }[];
  raw.close();
  assert.match(plan.map((p) => p.detail).join('\n'), /USING INDEX records_customer_ts \(customer_e164=\? AND ts>\?\)/);
});

test('prune deletes only shipped records older than the cutoff, in bounded chunks', () => {
  const j = new Journal(tempDir());
  j.appendMany(Array.from({ length: 30 }, (_, i) => makeCdr(i, { start: t0 })));
  const rows = j.unshipped(30);
  j.markShipped(rows.slice(0, 10).map((r) => r.id), at(t0));
  j.markShipped(rows.slice(10, 20).map((r) => r.id), at(t0 + 86_400_000));
  assert.equal(j.prune(at(t0 + 1), 4), 4);
  assert.equal(j.prune(at(t0 + 1)), 6);
  assert.equal(j.prune(at(t0 + 1)), 0);
  assert.equal(j.backlog(), 10, 'unshipped records are never pruned');
  assert.equal([...j.iterate(at(0), at(t0 + 86_400_000))].length, 20);
  j.close();
});

test('iterate yields [from, to) in time order; survives reopen; a read-only journal refuses writes', () => {
  const dir = tempDir();
  const j = new Journal(dir);
  j.appendMany(Array.from({ length: 100 }, (_, i) => makeCdr(99 - i, { start: t0 })));
  j.close();
  const ro = new Journal(dir, { readonly: true });
  const got = [...ro.iterate(at(t0 + 10_000), at(t0 + 20_000))];
  assert.deepEqual(got.map((r) => r.ts), Array.from({ length: 10 }, (_, i) => t0 + (10 + i) * 1000));
  assert.throws(() => ro.append(makeCdr(500, { start: t0 })), /read-only/);
  ro.close();
  assert.throws(() => new Journal(join(tempDir(), 'missing'), { readonly: true }));
});

test('a record without a valid @timestamp is refused with a clear error', () => {
  const j = new Journal(tempDir());
  assert.throws(() => j.append({ ...makeCdr(1), '@timestamp': 'nope' }), /invalid @timestamp "nope"/);
  j.close();
});

test('journal-only janitor prunes in batches until nothing older than the retention is left', async () => {
  const { pruneJournalOnly } = await import('../../src/durability/app-helpers.js');
  const { pino } = await import('pino');
  const j = new Journal(tempDir());
  const old = Date.now() - 10 * 86_400_000;
  j.appendMany(Array.from({ length: 12_345 }, (_, i) => makeCdr(i, { start: old, stepMs: 1 })));
  j.appendMany(Array.from({ length: 10 }, (_, i) => makeCdr(100_000 + i, { start: Date.now() - 60_000, stepMs: 0 })));
  const pruned = await pruneJournalOnly(j, 7 * 86_400_000, pino({ level: 'silent' }), 1000);
  assert.equal(pruned, 12_345, 'all of a busy backlog in one run, not 5000 per 10 minutes');
  assert.equal([...j.iterate(DateTime.fromMillis(0), DateTime.utc().plus({ days: 1 }))].length, 10);
  j.close();
});
