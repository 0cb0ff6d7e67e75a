// Journal.appendInTurn: the appends of one event-loop turn share one commit, which
// lands before the loop takes anything else; a commit that fails hands the turn's
// records to the write buffer (held in order, written later); a process that exits
// mid-turn commits first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { pino } from 'pino';
import { DateTime } from 'luxon';
import { Journal } from '../../src/cdr/journal.js';
import { JournalWriter } from '../../src/durability/journal-writer.js';
import { makeCdr } from '../support/fixtures/cdrs.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('journal-turn-test-');
const t0 = Date.UTC(2026, 0, 1);
const all = (j: Journal) => [...j.iterate(DateTime.fromMillis(0), DateTime.fromMillis(t0 + 10_000_000))].map((r) => r.id);

test('appends of one turn are one commit: invisible to another connection until the tick, then all there', async () => {
  const dir = tempDir();
  const j = new Journal(dir);
  j.append(makeCdr(0, { start: t0 }));
  const reader = new Journal(dir, { readonly: true });
  const docs = Array.from({ length: 50 }, (_, i) => makeCdr(i + 1, { start: t0 }));
  for (const d of docs) assert.equal(j.appendInTurn(d), true);
  assert.equal(j.appendInTurn(docs[3]!), false, 'a resend within the turn is known');
  assert.equal(j.has(docs[7]!.id), true, 'the writer sees its own turn');
  assert.equal(all(reader).length, 1, 'not committed yet');
  await tick();
  assert.equal(all(reader).length, 51, 'committed by the next tick');
  reader.close();
  j.close();
});

test('any other write commits the turn first, in order (a watermark never passes an uncommitted CDR)', () => {
  const dir = tempDir();
  const j = new Journal(dir);
  const reader = new Journal(dir, { readonly: true });
  j.appendInTurn(makeCdr(1, { start: t0 }));
  j.setMeta('ami.last_data_at', '123');
  assert.equal(all(reader).length, 1);
  assert.equal(reader.getMeta('ami.last_data_at'), '123');
  j.appendInTurn(makeCdr(2, { start: t0 }));
  j.close();
  assert.equal(all(reader).length, 2, 'close commits');
  reader.close();
});

test('a failed turn commit: its records go back to the write buffer in front, in order, and are written once later', async () => {
  const dir = tempDir();
  const j = new Journal(dir);
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (x: string) => void lines.push(JSON.parse(x) as Record<string, unknown>) });
  const writer = new JournalWriter(j, { max: 5, log });
  const commit = (j as unknown as { writes: { commit: { run: () => unknown } } }).writes.commit;
  const realRun = commit.run.bind(commit);
  let fail = true;
  commit.run = () => {
    if (fail) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
    return realRun();
  };
  const docs = Array.from({ length: 8 }, (_, i) => makeCdr(i, { start: t0 }));
  assert.deepEqual(docs.map((d) => writer.append(d)), Array(8).fill('new'));
  await tick();
  assert.equal(writer.failing, true, 'the commit failed: the buffer holds the turn');
  assert.equal(writer.buffer.size, 8, 'all eight held, beyond max: they were acknowledged');
  assert.equal(all(j).length, 0, 'rolled back');
  assert.equal(writer.append(docs[2]!), 'known', 'a resend of a held record is not held twice');
  assert.equal(writer.append(makeCdr(8, { start: t0 })), 'refused', 'the bound still applies to new records');
  // A retry while the commit still fails: written into the turn, not committed, so not recovered.
  writer.buffer.flush();
  assert.equal(writer.failing, true, 'not declared writable while its commit fails');
  assert.equal(writer.buffer.size, 8);
  assert.equal(lines.filter((l) => /cannot write to DATA_DIR|DATA_DIR writable again/.test(String(l.msg))).length, 1, 'one log line for the episode so far');
  fail = false;
  writer.buffer.flush();
  await tick();
  assert.equal(writer.failing, false);
  const reader = new Journal(dir, { readonly: true });
  const ids = all(reader);
  assert.deepEqual(ids, docs.map((d) => d.id), 'each once, in arrival order');
  assert.deepEqual(lines.filter((l) => /cannot write to DATA_DIR|DATA_DIR writable again/.test(String(l.msg))).map((l) => l.level), [50, 40], 'one line when it failed, one when everything was written');
  reader.close();
  j.close();
});

test('a process that exits (process.exit or an uncaught exception) before the tick still commits its turn', () => {
  for (const ending of ['process.exit(0);', "throw new Error('boom');"]) {
    const dir = tempDir();
    const script = join(dir, 'child.ts');
    writeFileSync(
      script,
      `import { Journal } from ${JSON.stringify(join(process.cwd(), 'src/cdr/journal.ts'))};
       import { makeCdr } from ${JSON.stringify(join(process.cwd(), 'test/support/fixtures/cdrs.ts'))};
       const j = new Journal(${JSON.stringify(dir)});
       for (let i = 0; i < 5; i++) j.appendInTurn(makeCdr(i, { start: ${t0} }));
       ${ending}`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
    assert.notEqual(r.status, null, r.stderr);
    const reader = new Journal(dir, { readonly: true });
    assert.equal(all(reader).length, 5, `after ${ending}: ${r.stderr.slice(0, 300)}`);
    reader.close();
  }
});
