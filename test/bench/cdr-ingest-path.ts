// Micro-benchmark: the router's CDR learning path on the event loop, without
// Elasticsearch: AMI wire text in 64 KiB socket reads (one event-loop turn each)
// → asterisk-ami-client's stream parser → forgedCdr → cdrFromAmiEvent →
// JournalWriter.append (SQLite on disk) → MemoryAffinity.rememberCdr, as src/app.ts
// wires it. Prints one JSON line: CDRs/s and CPU µs per CDR.
//   npx tsx test/bench/cdr-ingest-path.ts      (BENCH_EVENTS, default 20000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { pino } from 'pino';
import { cdrFromAmiEvent, forgedCdr } from '../../src/cdr/from-ami.js';
import { Journal } from '../../src/cdr/journal.js';
import { JournalWriter } from '../../src/durability/journal-writer.js';
import { MemoryAffinity } from '../../src/routing/sources/memory.js';
import { amiEventsStreamClass, installAmiStreamFastPath } from '../../src/ami/events-stream-fast-path.js';
import { cdrWire } from './lib/cdr-events.js';

const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const CHUNK = 64 * 1024;
// What AmiConnection does when it is built.
installAmiStreamFastPath();
const Stream = amiEventsStreamClass();

const dir = mkdtempSync(join(tmpdir(), 'sticky-bench-cdr-path-'));
const journal = new Journal(dir, { checkpointInWorker: true }); // as src/app.ts opens it
const writer = new JournalWriter(journal, { max: 10_000, log: pino({ level: 'silent' }) });
const memory = new MemoryAffinity();
const opts = { agentChannelPattern: /^PJSIP\/(\d+)-[0-9a-f]+$/, minTalkSeconds: () => 5 };
let learned = 0;
const ingest = (e: Record<string, string>) => {
  if (forgedCdr(e)) return;
  const doc = cdrFromAmiEvent(e, { ...opts, receivedAt: Date.now() }); // as CdrIngest passes it
  if (!doc) return;
  if (writer.append(doc) === 'new') {
    learned++;
    memory.rememberCdr(doc);
  }
};

const { wire } = cdrWire(N);
const stream = new Stream();
stream.on('amiEvent', ingest);
stream.on('data', () => undefined);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let off = 0; off < wire.length; off += CHUNK) {
  stream.write(wire.subarray(off, off + CHUNK));
  await tick(); // the next socket read is the next turn
}
const sec = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
journal.close();
rmSync(dir, { recursive: true, force: true });
if (learned !== N) throw new Error(`learned ${learned} of ${N}`);
process.stdout.write(`${JSON.stringify({ events: N, cdrsPerS: Math.round(N / sec), cpuUsPerCdr: (cpu.user + cpu.system) / N })}\n`);
