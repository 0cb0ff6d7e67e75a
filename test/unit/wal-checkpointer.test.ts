// The journal's WAL checkpoints in a worker thread (src/storage/wal-checkpointer.ts):
// the router's commits on the event loop never copy pages or fsync; the thread does,
// and SQLite's automatic checkpoint comes back if the thread fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Journal } from '../../src/cdr/journal.js';
import { Database } from '../../src/storage/sqlite.js';
import { WalCheckpointer } from '../../src/storage/wal-checkpointer.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('wal-ckpt-test-');

const doc = (i: number) => ({ id: `r${i}`, '@timestamp': new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), customer_e164: `+3805${String(i).padStart(8, '0')}`, agent: '1001', talked: true, pad: 'x'.repeat(400) });

test('with checkpointInWorker, commits leave the pages in the WAL and the thread copies them into the journal file', async () => {
  const dir = tempDir();
  const journal = new Journal(dir, { checkpointInWorker: true, onCheckpointerFailed: (err) => assert.fail(err) });
  const db = (journal as unknown as { db: Database }).db;
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'no checkpoint inside a commit on the event loop');
  const file = join(dir, 'journal.sqlite');
  const before = statSync(file).size;
  // 20 turns of 200 records: ~4 MB of pages, far past the 1000 pages that would trigger SQLite's own checkpoint.
  for (let t = 0; t < 20; t++) {
    for (let i = 0; i < 200; i++) journal.appendInTurn(doc(t * 200 + i));
    journal.commitTurn();
  }
  const deadline = Date.now() + 20_000;
  while (statSync(file).size <= before + 1_000_000 && Date.now() < deadline) await sleep(50);
  assert.ok(statSync(file).size > before + 1_000_000, `journal file ${statSync(file).size} bytes: the pages were checkpointed into it`);
  assert.equal(journal.backlog(), 4000);
  journal.close();
  // Nothing lost across close and reopen.
  const again = new Journal(dir, { readonly: true });
  assert.equal(again.backlog(), 4000);
  again.close();
});

test('a checkpoint thread that cannot open the file reports it (the journal then turns SQLite\'s own checkpoints back on)', async () => {
  const failed = new Promise<Error>((resolve) => {
    new WalCheckpointer({ path: join(tempDir(), 'missing-dir', 'journal.sqlite'), onFailed: resolve });
  });
  // The thread is unref'd (it never keeps a router alive): hold the loop open for it here.
  const keepAlive = setTimeout(() => undefined, 20_000);
  const err = await failed;
  clearTimeout(keepAlive);
  assert.match(err.message, /unable to open|does not exist|cannot open|exited/i);
});
