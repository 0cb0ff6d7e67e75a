// Backfill of 100,000 missed CDRs (issue: ≤ 15 s): Asterisk's own CDR store (the
// cdr_sqlite3_custom table the router reads, docker/asterisk/cdr_sqlite3_custom.conf)
// holds BENCH_BACKFILL_ROWS rows the router never got on AMI; one CdrBackfill.run()
// reads them into the journal through the live path's steps (cdrFromAmiEvent →
// JournalWriter → memory), as src/app.ts wires it. The run yields to the event loop
// between turns; a 1 ms timer probe and perf_hooks' monitorEventLoopDelay measure the
// longest stretch the loop was held (what a call's ARI event or timer would wait).
// Prints one JSON line.   npx tsx test/bench/backfill-100k.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { Database } from '../../src/storage/sqlite.js';
import { pino } from 'pino';
import { cdrFromAmiEvent } from '../../src/cdr/from-ami.js';
import { Journal } from '../../src/cdr/journal.js';
import { CdrBackfill } from '../../src/cdr/backfill/cdr-backfill.js';
import { CdrStore } from '../../src/cdr/backfill/cdr-store.js';
import { JournalWriter } from '../../src/durability/journal-writer.js';
import { MemoryAffinity } from '../../src/routing/sources/memory.js';
import type { CdrDocument } from '../../src/cdr/schema.js';

const ROWS = Number(process.env.BENCH_BACKFILL_ROWS ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'sticky-bench-backfill-'));
const storePath = join(dir, 'sticky-cdr.db');
const now = Date.now();

// The table as Asterisk 22's cdr_sqlite3_custom creates it from the project's config.
const store = new Database(storePath);
store.exec('CREATE TABLE sticky_cdr (AcctId INTEGER PRIMARY KEY, uniqueid,linkedid,sequence,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,start_epoch,answer_epoch,end_epoch,duration,billsec,disposition,amaflags,accountcode,userfield)');
const ins = store.prepare('INSERT INTO sticky_cdr (uniqueid,linkedid,sequence,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,start_epoch,answer_epoch,end_epoch,duration,billsec,disposition,amaflags,accountcode,userfield) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
const wall = (s: number) => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ');
store.transaction(() => {
  const first = Math.floor(now / 1000) - 6 * 3600; // a six-hour gap, ~4.6 calls/s
  for (let i = 0; i < ROWS; i++) {
    const start = first + Math.floor((i * 6 * 3600) / ROWS);
    const answered = i % 4 !== 0;
    const end = start + 30 + (i % 200);
    const src = `+1212${String(i % 60_000).padStart(7, '0')}`;
    const agent = 1001 + (i % 200);
    ins.run(`${start}.${i}`, `${start}.${i}`, String(i), src, 's', 'ivr', `"" <${src}>`, `PJSIP/trunk-${i.toString(16).padStart(8, '0')}`, answered ? `PJSIP/${agent}-${i.toString(16).padStart(8, '0')}` : '', answered ? 'Dial' : 'Queue', answered ? `PJSIP/${agent},20` : 'support', wall(start), String(start), answered ? String(start + 5) : '0', String(end), String(end - start), answered ? String(end - start - 5) : '0', answered ? 'ANSWERED' : 'NO ANSWER', 'DOCUMENTATION', '', '');
  }
})();
store.close();

const journal = new Journal(join(dir, 'data'), { checkpointInWorker: true }); // as src/app.ts opens it
const journalWrites = new JournalWriter(journal, { max: 10_000, log: pino({ level: 'silent' }) });
const memory = new MemoryAffinity();
let turns = 0;
const meta = {
  getMeta: (k: string) => journal.getMeta(k),
  setMeta: (k: string, v: string) => {
    journal.setMeta(k, v);
    turns++;
  },
};
// src/app.ts's learnCdr: journal (or its write buffer), then memory.
const ingest = (doc: CdrDocument) => {
  const r = journalWrites.append(doc);
  if (r === 'known' || r === 'refused') return r;
  memory.rememberCdr(doc);
  return 'new' as const;
};
const backfill = new CdrBackfill({
  store: new CdrStore(storePath),
  meta,
  toDoc: (f) => cdrFromAmiEvent(f, { minTalkSeconds: () => 5 }),
  ingest,
  maxAgeMs: 24 * 3600_000,
  amiSince: () => undefined,
  log: pino({ level: 'silent' }),
});
// The probe: a timer due every millisecond; the longest gap between two firings is the longest block.
let probeMax = 0;
let probeLast = performance.now();
let probeFired = 0;
const probe = setInterval(() => {
  const t = performance.now();
  probeMax = Math.max(probeMax, t - probeLast);
  probeLast = t;
  probeFired++;
}, 1);
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
probeLast = t0;
const r = await backfill.run();
const sec = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
delay.disable();
clearInterval(probe);
backfill.close();
journal.close();
rmSync(dir, { recursive: true, force: true });
if (r.learned !== ROWS) throw new Error(`learned ${r.learned} of ${ROWS}`);
process.stdout.write(
  `${JSON.stringify({
    rows: ROWS,
    learned: r.learned,
    seconds: sec,
    rowsPerS: Math.round(ROWS / sec),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    turns,
    probeFired,
    longestBlockMs: probeMax,
    eventLoopDelayMaxMs: delay.max / 1e6,
    eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
  })}\n`,
);
