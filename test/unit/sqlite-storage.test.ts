// src/storage/sqlite.ts on this Node: node:sqlite from 22.13 on, better-sqlite3 on 20. The
// same rows, transactions and error codes either way (CI runs this on 20 and on 24).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Database, PAGE_CACHE_KIB, sqliteBackend, sqliteCodeName } from '../../src/storage/sqlite.js';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const dir = () => mkdtempSync(join(tmpdir(), 'sticky-sqlite-'));

test(`the backend fits the runtime (Node ${process.versions.node}: ${sqliteBackend})`, () => {
  assert.equal(sqliteBackend, major > 22 || (major === 22 && minor >= 13) ? 'node:sqlite' : 'better-sqlite3');
});

test('rows are plain objects; get, all, iterate; run reports changes', () => {
  const db = new Database(join(dir(), 'a.sqlite'));
  db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, s TEXT)');
  const ins = db.prepare<[string, number, string | null]>('INSERT OR IGNORE INTO t VALUES (?, ?, ?)');
  assert.equal(ins.run('a', 1, 'x').changes, 1);
  assert.equal(ins.run('a', 1, 'x').changes, 0);
  ins.run('b', 2, null);
  assert.deepStrictEqual(db.prepare<[string], { id: string; n: number; s: string | null }>('SELECT * FROM t WHERE id = ?').get('b'), { id: 'b', n: 2, s: null });
  assert.equal(db.prepare('SELECT * FROM t WHERE id = ?').get('zz'), undefined);
  assert.deepStrictEqual(db.prepare('SELECT id FROM t ORDER BY id').all(), [{ id: 'a' }, { id: 'b' }]);
  assert.deepStrictEqual([...db.prepare<[], { n: number }>('SELECT n FROM t ORDER BY n').iterate()].map((r) => r.n), [1, 2]);
  db.close();
  assert.equal(db.open, false);
});

test('pragma: WAL, simple values, and settings that return nothing', () => {
  const db = new Database(join(dir(), 'p.sqlite'));
  assert.equal(db.pragma('journal_mode = WAL', { simple: true }), 'wal');
  db.pragma('synchronous = NORMAL');
  assert.equal(db.pragma('synchronous', { simple: true }), 1);
  assert.deepStrictEqual(db.pragma('journal_mode'), [{ journal_mode: 'wal' }]);
  db.close();
});

test('every connection gets the same page cache, whichever backend (better-sqlite3 is built with 16 MB)', () => {
  const path = join(dir(), 'c.sqlite');
  const db = new Database(path);
  db.exec('CREATE TABLE t (n INTEGER)');
  assert.equal(PAGE_CACHE_KIB, 2000);
  assert.equal(db.pragma('cache_size', { simple: true }), -PAGE_CACHE_KIB);
  const ro = new Database(path, { readonly: true, fileMustExist: true });
  assert.equal(ro.pragma('cache_size', { simple: true }), -PAGE_CACHE_KIB);
  ro.close();
  db.close();
});

test('transaction: commits, rolls back on a throw, nests as a savepoint', () => {
  const db = new Database(join(dir(), 't.sqlite'));
  db.exec('CREATE TABLE t (id TEXT PRIMARY KEY)');
  const ins = db.prepare<[string]>('INSERT INTO t VALUES (?)');
  const count = () => (db.prepare('SELECT count(*) AS c FROM t').get() as { c: number }).c;
  assert.equal(db.transaction((ids: string[]) => ids.map((id) => ins.run(id).changes).length)(['a', 'b']), 2);
  assert.throws(() => db.transaction(() => {
    ins.run('c');
    throw new Error('boom');
  })(), /boom/);
  assert.equal(count(), 2);
  db.transaction(() => {
    ins.run('d');
    assert.throws(() => db.transaction(() => {
      ins.run('e');
      ins.run('a'); // duplicate: the inner part is undone, the outer goes on
    })());
  })();
  assert.deepStrictEqual(db.prepare('SELECT id FROM t ORDER BY id').all(), [{ id: 'a' }, { id: 'b' }, { id: 'd' }]);
  db.close();
});

test('errors carry better-sqlite3\'s codes: constraint, disk full, missing file, read-only', () => {
  const path = join(dir(), 'e.sqlite');
  const db = new Database(path);
  db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, pad TEXT)');
  const ins = db.prepare<[string, string]>('INSERT INTO t VALUES (?, ?)');
  ins.run('a', '');
  assert.throws(() => ins.run('a', ''), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
  db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true }))}`);
  assert.throws(() => db.transaction(() => {
    for (let i = 0; i < 10_000; i++) ins.run(`k${i}`, 'x'.repeat(200));
  })(), { code: 'SQLITE_FULL' });
  assert.throws(() => new Database(join(dir(), 'missing.sqlite'), { readonly: true, fileMustExist: true }), { code: 'SQLITE_CANTOPEN' });
  const ro = new Database(path, { readonly: true });
  assert.throws(() => ro.exec("INSERT INTO t VALUES ('z', '')"), { code: 'SQLITE_READONLY' });
  ro.close();
  db.close();
  assert.equal(sqliteCodeName(13), 'SQLITE_FULL');
  assert.equal(sqliteCodeName(1032), 'SQLITE_READONLY_DBMOVED');
  assert.equal(sqliteCodeName(5 | (99 << 8)), 'SQLITE_BUSY');
});

test('opening a database prints no ExperimentalWarning (Node 22 announces node:sqlite)', () => {
  const root = resolve(import.meta.dirname, '..', '..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `import('./src/storage/sqlite.ts').then((m) => { const db = new m.Database(':memory:'); db.exec('SELECT 1'); console.log(m.sqliteBackend); })`], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), sqliteBackend);
  assert.doesNotMatch(r.stderr, /ExperimentalWarning|experimental/i);
});
