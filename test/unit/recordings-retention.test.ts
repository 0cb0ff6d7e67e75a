// RECORDINGS_RETENTION: old files deleted (only files of the dialplan's shape),
// empty day directories removed, and the CDRs naming them marked in the journal
// and in Elasticsearch (the wire-level double, or ES_TEST_NODE), after which the
// search no longer offers them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { Journal } from '../../src/cdr/journal.js';
import type { CdrDocument } from '../../src/cdr/schema.js';
import { createRecordings } from '../../src/recordings/index.js';
import { loadRecordingsConfig } from '../../src/recordings/config.js';
import { ElasticsearchRecordings, JournalRecordings } from '../../src/recordings/search.js';
import { historyDoc, seededCluster } from '../support/history.js';

const now = DateTime.utc();
const log = pino({ level: 'silent' });

function recorded(customer: string, endedAt: DateTime, file: string): CdrDocument {
  return { ...historyDoc(customer, '1002', endedAt), recording: { file, duration_s: 61.5, bytes: 984_044 } };
}

function layOut(dir: string, files: { rel: string; ageDays: number }[]): void {
  for (const f of files) {
    const p = join(dir, f.rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, 'RIFF');
    const t = now.minus({ days: f.ageDays }).toSeconds();
    utimesSync(p, t, t);
  }
}

test('retention deletes recordings older than RECORDINGS_RETENTION and marks their CDRs (journal and Elasticsearch)', async () => {
  const prefix = `unit-retention-${Date.now()}`;
  const dir = mkdtempSync(join(tmpdir(), 'sticky-retention-'));
  const oldDay = now.minus({ days: 40 });
  const oldRel = `${oldDay.toFormat('yyyy/MM/dd')}/1700000000.1.wav`;
  const newRel = `${now.toFormat('yyyy/MM/dd')}/1700000000.2.wav`;
  const strayRel = `${oldDay.toFormat('yyyy/MM/dd')}/notes.txt`;
  layOut(dir, [{ rel: oldRel, ageDays: 40 }, { rel: newRel, ageDays: 0 }, { rel: strayRel, ageDays: 40 }]);
  const oldDoc = recorded('+12025550170', oldDay, oldRel);
  const newDoc = recorded('+12025550170', now.minus({ minutes: 5 }), newRel);
  const cluster = await seededCluster(prefix, [oldDoc, newDoc]);
  const client = new Client({ node: cluster.node });
  const journal = new Journal(mkdtempSync(join(tmpdir(), 'sticky-retention-data-')));
  journal.appendMany([oldDoc, newDoc]);
  try {
    const config = loadRecordingsConfig({ RECORDINGS: 'on', RECORDINGS_TOKEN: 't'.repeat(16), RECORDINGS_DIR: dir, RECORDINGS_RETENTION: 'P30D' });
    const recs = createRecordings({ config, journal, es: { client, prefix }, clock: () => now, log });
    const es = new ElasticsearchRecordings(client, prefix);
    assert.equal((await es.search({ number: '+12025550170', limit: 10 })).length, 2, 'both offered before the sweep');

    assert.deepEqual(await recs.sweep(), { deleted: 1, kept: 1 });
    assert.equal(existsSync(join(dir, oldRel)), false, 'the old recording is gone');
    assert.equal(existsSync(join(dir, oldDay.toFormat('yyyy/MM/dd'), 'notes.txt')), true, 'a file that is not a recording stays');
    assert.equal(existsSync(join(dir, newRel)), true, 'the recent one stays');

    await client.indices.refresh({ index: `${prefix}-*` });
    const marked = await client.get<CdrDocument>({ index: `${prefix}-${oldDay.toUTC().toFormat('yyyy.MM.dd')}`, id: oldDoc.id });
    assert.equal(marked._source?.recording?.deleted_at, now.toUTC().toISO());
    assert.equal(marked._source?.recording?.file, oldRel, 'the rest of the recording fields kept');
    const hits = await es.search({ number: '+12025550170', limit: 10 });
    assert.deepEqual(hits.map((h) => h.file), [newRel], 'Elasticsearch search no longer offers it');
    const fromJournal = await new JournalRecordings(journal, () => now).search({ number: '+12025550170', limit: 10 });
    assert.deepEqual(fromJournal.map((h) => h.file), [newRel], 'journal search no longer offers it');

    assert.deepEqual(await recs.sweep(), { deleted: 0, kept: 1 }, 'a second sweep finds nothing more');
  } finally {
    journal.close();
    await client.close();
    await cluster.clean(prefix);
    await cluster.close();
  }
});

test('journal search: newest first, filtered by number, agent, uniqueid and time', async () => {
  const journal = new Journal(mkdtempSync(join(tmpdir(), 'sticky-recsearch-')));
  try {
    const a = recorded('+12025550180', now.minus({ hours: 3 }), '2026/12/01/1.1.wav');
    const b = recorded('+12025550180', now.minus({ hours: 1 }), '2026/12/01/1.2.wav');
    const c = recorded('+12025550181', now.minus({ hours: 2 }), '2026/12/01/1.3.wav');
    const plain = historyDoc('+12025550180', '1002', now.minus({ minutes: 30 }));
    journal.appendMany([a, b, c, plain]);
    const idx = new JournalRecordings(journal, () => now);
    assert.deepEqual((await idx.search({ number: '+12025550180', limit: 10 })).map((h) => h.file), ['2026/12/01/1.2.wav', '2026/12/01/1.1.wav']);
    assert.deepEqual((await idx.search({ uniqueid: c.asterisk.uniqueid, limit: 10 })).map((h) => h.number), ['+12025550181']);
    assert.deepEqual((await idx.search({ number: '+12025550180', from: now.minus({ hours: 2 }), limit: 10 })).map((h) => h.file), ['2026/12/01/1.2.wav']);
    assert.equal((await idx.search({ agent: '1003', limit: 10 })).length, 0);
  } finally {
    journal.close();
  }
});
