// Reading back what AMI did not deliver: the CDR store (as cdr_sqlite3_custom
// creates it), queue_log, and the gap bookkeeping around AMI reconnects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../../src/storage/sqlite.js';
import { pino } from 'pino';
import { CdrStore } from '../../src/cdr/backfill/cdr-store.js';
import { CdrBackfill, docFromStored } from '../../src/cdr/backfill/cdr-backfill.js';
import { Backfill } from '../../src/cdr/backfill/backfill.js';
import { cdrFromAmiEvent, type AmiFields } from '../../src/cdr/from-ami.js';
import { scanQueueLogAbandons } from '../../src/abandon/backfill/queue-log-abandons.js';
import { Journal } from '../../src/cdr/journal.js';
import type { CdrDocument } from '../../src/cdr/schema.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs('backfill-test-');
const silent = pino({ level: 'silent' });

// The table exactly as Asterisk 22's cdr_sqlite3_custom creates it from docker/asterisk/cdr_sqlite3_custom.conf.
const createTable = 'CREATE TABLE sticky_cdr (AcctId INTEGER PRIMARY KEY, uniqueid,linkedid,sequence,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,start_epoch,answer_epoch,end_epoch,duration,billsec,disposition,amaflags,accountcode,userfield)';

interface Call {
  uniqueid: string;
  src: string;
  dstchannel: string;
  startS: number;
  answerS: number;
  endS: number;
  /** PBX-local text of the start, as Asterisk formats it. */
  startText: string;
}

function makeStore(): { path: string; db: Database; add(c: Call): void } {
  const path = join(tempDir(), 'sticky-cdr.db');
  const db = new Database(path);
  db.exec(createTable);
  const ins = db.prepare('INSERT INTO sticky_cdr (uniqueid,linkedid,sequence,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,start_epoch,answer_epoch,end_epoch,duration,billsec,disposition,amaflags,accountcode,userfield) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
  return {
    path,
    db,
    add: (c) => ins.run(c.uniqueid, c.uniqueid, '1', c.src, 's', 'ivr', `"" <${c.src}>`, 'PJSIP/trunk-00000001', c.dstchannel, 'Queue', 'support', c.startText, String(c.startS), String(c.answerS), String(c.endS), String(c.endS - c.startS), String(c.answerS ? c.endS - c.answerS : 0), c.answerS ? 'ANSWERED' : 'NO ANSWER', 'DOCUMENTATION', '', ''),
  };
}

// A PBX on Kyiv time (UTC+2 in winter): the formatted start is local, the epochs are not.
const T = Date.UTC(2026, 0, 15, 10, 0, 0) / 1000;
const call = (i: number, over: Partial<Call> = {}): Call => ({ uniqueid: `${T + i}.${i}`, src: `+38050000000${i}`, dstchannel: 'PJSIP/1001-0000000a', startS: T + i, answerS: T + i + 2, endS: T + i + 30, startText: `2026-01-15 12:00:${String(i).padStart(2, '0')}`, ...over });

const toDoc = (f: AmiFields) => cdrFromAmiEvent(f, { minTalkSeconds: () => 1 });

test('a stored row becomes the AMI path\'s document: same id, zone-free times from the epochs', () => {
  const s = makeStore();
  s.add(call(1));
  const store = new CdrStore(s.path);
  const [row] = store.rowsAfter(0, 10);
  const doc = docFromStored(row!, toDoc)!;
  // The AMI Cdr event of the same call on that PBX: local text times.
  const ami = cdrFromAmiEvent({ Event: 'Cdr', Source: '+380500000001', Destination: 's', DestinationContext: 'ivr', CallerID: '"" <+380500000001>', Channel: 'PJSIP/trunk-00000001', DestinationChannel: 'PJSIP/1001-0000000a', LastApplication: 'Queue', LastData: 'support', StartTime: '2026-01-15 12:00:01', AnswerTime: '2026-01-15 12:00:03', EndTime: '2026-01-15 12:00:31', Duration: '30', BillableSeconds: '28', Disposition: 'ANSWERED', AMAFlags: 'DOCUMENTATION', AccountCode: '', UniqueID: `${T + 1}.1`, UserField: '', LinkedID: `${T + 1}.1` }, { minTalkSeconds: () => 1, timeZone: 'Europe/Kyiv' })!;
  assert.equal(doc.id, ami.id, 'same deterministic id');
  assert.equal(doc['@timestamp'], new Date((T + 30) * 1000 + 1000).toISOString());
  assert.equal(doc['@timestamp'], ami['@timestamp'], 'same end time as the zone-aware AMI path');
  assert.equal(doc.asterisk.start, ami.asterisk.start);
  assert.equal(doc.asterisk.answer, ami.asterisk.answer);
  assert.deepEqual({ ...doc }, { ...ami }, 'the same document');
  store.close();
});

test('reads rows posted since the last run, once; the row number is remembered in the journal', async () => {
  const s = makeStore();
  const journal = new Journal(tempDir());
  const learned: CdrDocument[] = [];
  const now = (T + 3600) * 1000;
  const ingest = (d: CdrDocument) => (journal.append(d) ? (learned.push(d), 'new' as const) : ('known' as const));
  const mk = () => new CdrBackfill({ store: new CdrStore(s.path), meta: journal, toDoc, ingest, maxAgeMs: 86_400_000, amiSince: () => undefined, log: silent, now: () => now, batch: 2 });
  for (let i = 1; i <= 5; i++) s.add(call(i));
  // One was learned live before.
  journal.append(docFromStored(new CdrStore(s.path).rowsAfter(0, 1)[0]!, toDoc)!);
  const b = mk();
  assert.deepEqual(await b.run(), { read: 5, learned: 4, learnedUpTo: (T + 35) * 1000 });
  assert.equal(b.watermark, 5);
  s.add(call(6));
  // A new process over the same journal reads only the new row.
  const b2 = mk();
  assert.equal((await b2.run()).learned, 1);
  assert.equal((await b2.run()).read, 0);
  assert.equal(learned.length, 5);
  assert.equal(new Set(learned.map((d) => d.id)).size, 5);
  journal.close();
});

test('first start reads back only BACKFILL_MAX_AGE; a replaced store is read again from there', async () => {
  const s = makeStore();
  const journal = new Journal(tempDir());
  const now = (T + 86_400 * 2) * 1000;
  s.add(call(1)); // two days old
  s.add(call(2, { endS: T + 86_400 * 2 - 60, startS: T + 86_400 * 2 - 90, answerS: T + 86_400 * 2 - 88 }));
  const ingest = (d: CdrDocument) => (journal.append(d) ? ('new' as const) : ('known' as const));
  const b = new CdrBackfill({ store: new CdrStore(s.path), meta: journal, toDoc, ingest, maxAgeMs: 86_400_000, amiSince: () => undefined, log: silent, now: () => now });
  assert.equal((await b.run()).learned, 1);
  journal.setMeta(`backfill.cdr:${s.path}#sticky_cdr`, '99');
  assert.equal((await b.run()).learned, 0, 'replaced store: read again, nothing new');
  assert.equal(b.watermark, 2);
  journal.close();
});

test('while AMI is up, calls that ended in this session moments ago are left to the live path; older ones are read', async () => {
  const s = makeStore();
  const journal = new Journal(tempDir());
  const now = (T + 100) * 1000;
  s.add(call(1, { endS: T + 50 })); // ended before this AMI session began: never coming live
  s.add(call(2, { endS: T + 99 })); // ended 1 s ago, in this session: AMI delivers it
  const ingest = (d: CdrDocument) => (journal.append(d) ? ('new' as const) : ('known' as const));
  const b = new CdrBackfill({ store: new CdrStore(s.path), meta: journal, toDoc, ingest, maxAgeMs: 86_400_000, amiSince: () => (T + 80) * 1000, log: silent, now: () => now });
  assert.equal((await b.run()).learned, 1);
  assert.equal(b.watermark, 1, 'the young row is read at the next run');
  journal.close();
});

test('a full local buffer (refused) stops the run at that row: it is read again next time', async () => {
  const s = makeStore();
  const journal = new Journal(tempDir());
  for (let i = 1; i <= 3; i++) s.add(call(i));
  let room = 1;
  const b = new CdrBackfill({ store: new CdrStore(s.path), meta: journal, toDoc, ingest: () => (room-- > 0 ? 'new' : 'refused'), maxAgeMs: 86_400_000 * 365, amiSince: () => undefined, log: silent, now: () => (T + 100) * 1000 });
  assert.equal((await b.run()).learned, 1);
  assert.equal(b.watermark, 1);
  journal.close();
});

test('a big backfill runs in turns: a timer set when it starts fires long before it ends, and an AMI CDR learned meanwhile is not learned twice', async () => {
  const s = makeStore();
  const journal = new Journal(tempDir());
  const rows = 3000;
  s.db.transaction(() => {
    for (let i = 1; i <= rows; i++) s.add(call(i, { uniqueid: `${T + i}.${i}`, src: `+3805${String(i).padStart(8, '0')}`, startText: `x${i}` }));
  })();
  const learned: string[] = [];
  const ingest = (d: CdrDocument) => (journal.append(d) ? (learned.push(d.id), 'new' as const) : ('known' as const));
  // turnMs 1: many turns on any machine (3000 rows take far longer than 1 ms).
  const b = new CdrBackfill({ store: new CdrStore(s.path), meta: journal, toDoc, ingest, maxAgeMs: 86_400_000 * 3650, amiSince: () => undefined, log: silent, turnMs: 1, batch: 50 });
  // The last row, as AMI would deliver it live while the backfill is under way.
  const lastRow = new CdrStore(s.path).rowsAfter(rows - 1, 1)[0]!;
  let done = false;
  let firedAt: { done: boolean; watermark: number } | undefined;
  const run = b.run().finally(() => (done = true));
  setTimeout(() => {
    firedAt = { done, watermark: b.watermark };
    journal.append(docFromStored(lastRow, toDoc)!); // the live path's CDR of the same call
  }, 0);
  const r = await run;
  assert.ok(firedAt, 'the timer fired');
  assert.equal(firedAt.done, false, 'before the backfill ended');
  assert.ok(firedAt.watermark > 0 && firedAt.watermark < rows, `watermark ${firedAt.watermark}: turns already committed, more to come`);
  assert.equal(r.read, rows);
  assert.equal(r.learned, rows - 1, 'the row AMI delivered meanwhile is known, not learned again');
  assert.equal(new Set(learned).size, rows - 1);
  assert.equal(b.watermark, rows);
  journal.close();
});

test('a run told to stop ends between turns; the watermark is where it stopped and the next run reads the rest once', async () => {
  const s = makeStore();
  const journal = new Journal(tempDir());
  const rows = 500;
  s.db.transaction(() => {
    for (let i = 1; i <= rows; i++) s.add(call(i, { uniqueid: `${T + i}.${i}`, startText: `x${i}` }));
  })();
  const learned: string[] = [];
  const ingest = (d: CdrDocument) => (journal.append(d) ? (learned.push(d.id), 'new' as const) : ('known' as const));
  const b = new CdrBackfill({ store: new CdrStore(s.path), meta: journal, toDoc, ingest, maxAgeMs: 86_400_000 * 3650, amiSince: () => undefined, log: silent, turnMs: 0, batch: 10 });
  const first = await b.run({ stop: () => true });
  assert.equal(first.stopped, true);
  assert.ok(first.read > 0 && first.read < rows);
  assert.equal(b.watermark, first.read, 'the watermark is the last row journaled');
  const rest = await b.run();
  assert.equal(first.read + rest.read, rows);
  assert.equal(learned.length, rows);
  assert.equal(new Set(learned).size, rows);
  journal.close();
});

test('a store without the expected columns names the file and the fix', () => {
  const path = join(tempDir(), 'other.db');
  const db = new Database(path);
  db.exec('CREATE TABLE sticky_cdr (AcctId INTEGER PRIMARY KEY, calldate, clid)');
  db.close();
  assert.throws(() => new CdrStore(path).rowsAfter(0, 1), /other\.db table sticky_cdr: .*cdr_sqlite3_custom\.conf/);
  assert.throws(() => new CdrStore(join(tempDir(), 'missing.db')).maxRowid(), /unable to open|does not exist|directory does not exist/i);
});

test('queue_log: ABANDON lines inside the gap, with the caller from ENTERQUEUE; router-phase lines and other events ignored', async () => {
  const path = join(tempDir(), 'queue_log');
  const t = 1_800_000_000;
  writeFileSync(
    path,
    [
      `${t}|NONE|NONE|NONE|QUEUESTART|`,
      `${t + 1}|${t}.1|support|NONE|ENTERQUEUE||+380501112233|1`,
      `${t + 20}|${t}.1|support|NONE|ABANDON|1|1|19`, // in the gap
      `${t + 2}|${t}.2|support|NONE|ENTERQUEUE||0501112244|2`,
      `${t + 30}|${t}.2|support|PJSIP/1001|CONNECT|28|${t}.3|0`, // answered, not an abandon
      `${t + 40}|${t}.4|sticky-router|NONE|ENTERQUEUE||+380509990000|1`,
      `${t + 40}|${t}.4|sticky-router|PJSIP/1002|ABANDON|1|1|12`, // the router's own line
      `${t + 500}|${t}.5|support|NONE|ABANDON|2|3|7`, // after the gap; no ENTERQUEUE seen
      'garbage line',
      '',
    ].join('\n'),
  );
  const events = await scanQueueLogAbandons(path, [{ fromMs: (t + 10) * 1000, toMs: (t + 100) * 1000 }, { fromMs: (t + 490) * 1000, toMs: (t + 510) * 1000 }], { region: 'UA', ownQueues: ['sticky-router'] });
  assert.deepEqual(events, [
    { source: 'queue', at: new Date((t + 20) * 1000).toISOString(), caller: { raw: '+380501112233', e164: '+380501112233' }, waitedMs: 19_000, uniqueid: `${t}.1`, queue: 'support', late: true, position: 1, originalPosition: 1 },
    { source: 'queue', at: new Date((t + 500) * 1000).toISOString(), caller: { raw: '' }, waitedMs: 7000, uniqueid: `${t}.5`, queue: 'support', late: true, position: 2, originalPosition: 3 },
  ]);
  await assert.rejects(scanQueueLogAbandons(join(tempDir(), 'nope'), [{ fromMs: 0, toMs: 1 }]), /ENOENT/);
});

class FakeAmi extends EventEmitter {
  connected = true;
  connectedAt: number | undefined = 0;
  lastDataAt: number | undefined;
}

test('gaps: the start reads from the last AMI data saved by the previous process; a reconnect from the last data before the drop', async () => {
  const journal = new Journal(tempDir());
  let now = 1_000_000;
  const ami = new FakeAmi();
  const scanned: { fromMs: number; toMs: number }[][] = [];
  const handled: string[] = [];
  const metrics = { records: (k: string, n: number) => void handled.push(`${k}:${n}`), unfilledGap: () => undefined };
  journal.setMeta('ami.last_data_at', String(900_000));
  const b = new Backfill({
    ami,
    meta: journal,
    abandons: {
      path: 'q',
      scan: async (gaps) => {
        scanned.push(gaps.map((g) => ({ fromMs: g.fromMs, toMs: g.toMs })));
        return [{ source: 'queue', at: new Date(now).toISOString(), caller: { raw: '1' }, waitedMs: 0, uniqueid: `u${scanned.length}`, late: true }];
      },
      known: (e) => e.uniqueid === 'u2',
      handle: async () => undefined,
    },
    intervalMs: 3_600_000,
    localWritesFailing: () => false,
    metrics,
    log: silent,
    now: () => now,
  });
  await b.start();
  assert.deepEqual(scanned, [[{ fromMs: 898_000, toMs: 1_000_000 }]]);
  assert.equal(b.pendingGaps, 0);
  // The socket dies; its last bytes were at 1_005_000; back at 1_020_000.
  ami.lastDataAt = 1_005_000;
  now = 1_010_000;
  ami.connected = false;
  ami.emit('disconnected');
  assert.equal(journal.getMeta('ami.last_data_at'), '1005000', 'saved at once: a crash now still knows');
  now = 1_020_000;
  ami.connected = true;
  ami.emit('connected');
  await b.kick();
  assert.deepEqual(scanned[1], [{ fromMs: 1_003_000, toMs: 1_020_000 }]);
  assert.deepEqual(handled, ['abandon:1'], 'the known abandon (u2) is not handled again');
  await b.stop();
  journal.close();
});

test('an unreadable store: one log line with the gap\'s span and a metric per gap, retried at the next run until it reads', async () => {
  const journal = new Journal(tempDir());
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const unfilled: string[] = [];
  const ami = new FakeAmi();
  journal.setMeta('ami.last_data_at', String(Date.UTC(2026, 0, 1, 10)));
  let readable = false;
  const s = makeStore();
  s.add(call(1));
  const store = new CdrStore(s.path);
  const realRows = store.rowsAfter.bind(store);
  store.rowsAfter = (a, l) => {
    if (!readable) throw new Error('SQLITE_BUSY: database is locked');
    return realRows(a, l);
  };
  const learned: string[] = [];
  const cdr = new CdrBackfill({ store, meta: journal, toDoc, ingest: (d) => (learned.push(d.id), 'new'), maxAgeMs: 86_400_000 * 3650, amiSince: () => undefined, log: silent });
  const b = new Backfill({ ami, meta: journal, cdr, intervalMs: 3_600_000, localWritesFailing: () => false, metrics: { records: () => undefined, unfilledGap: (st) => void unfilled.push(st) }, log });
  await b.start();
  await b.kick();
  const gapLines = lines.filter((l) => l.msg === 'ami gap not backfilled: the cdr store cannot be read; retrying at the next run');
  assert.equal(gapLines.length, 1, 'one line per gap, not per retry');
  const gap = gapLines[0]!.gap as { from: string; to: string; seconds: number };
  assert.equal(gap.from, new Date(Date.UTC(2026, 0, 1, 10) - 2000).toISOString());
  assert.ok(gap.seconds > 0 && Date.parse(gap.to) <= Date.now());
  assert.deepEqual(unfilled, ['cdr']);
  assert.equal(b.pendingGaps, 1);
  readable = true;
  await b.kick();
  assert.equal(learned.length, 1);
  assert.equal(b.pendingGaps, 0);
  assert.ok(lines.some((l) => l.msg === 'cdr store readable again'));
  await b.stop();
  journal.close();
});
