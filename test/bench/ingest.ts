// Stage 4: CDR ingest, in-process (no Asterisk): AMI Cdr events per second through
// the router's own learning path, src/cdr/ingest.ts as src/app.ts wires it:
//   AMI wire text → asterisk-ami-client's parser (AmiEventsStream, what the router's
//   AMI socket is piped through) → CdrIngest (forged check, cdrFromAmiEvent,
//   Journal.append on disk first, MemoryAffinity.rememberCdr, Shipper.notify) →
//   Shipper bulk-indexes into the Elasticsearch double (its own process, over HTTP).
// The events are clones of real Cdr events captured from the harness's AMI during
// the call stages (BENCH_CDR_TEMPLATES), with fresh ids, numbers, channels and
// times; without a capture, the project's real-shaped fixtures are used.
// Prints one JSON object on stdout.
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { cdrFromAmiEvent } from '../../src/cdr/from-ami.js';
import { CdrIngest } from '../../src/cdr/ingest.js';
import { Journal } from '../../src/cdr/journal.js';
import { JournalWriter } from '../../src/durability/journal-writer.js';
import { installAmiStreamFastPath } from '../../src/ami/events-stream-fast-path.js';
import { Shipper } from '../../src/cdr/shipper.js';
import { installTemplates } from '../../src/cdr/index-template.js';
import { DidPolicies } from '../../src/routing/did-policy.js';
import { MemoryAffinity } from '../../src/routing/sources/memory.js';
import { RecentDecisions } from '../../src/routing/recent-decisions.js';
import * as fixtures from '../support/fixtures/cdrs.js';
import { startEsDoubleProcess } from './lib/es-double-proc.js';

type Ev = Record<string, string>;
const N = Number(process.env.BENCH_INGEST_EVENTS ?? 50_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CHUNK = 64 * 1024; // a socket read under load (Node's default highWaterMark)

// The AMI client's own stream parser (a dependency of asterisk-ami-client's connector).
const require = createRequire(createRequire(import.meta.url).resolve('asterisk-ami-client'));
const AmiEventsStream = createRequire(require.resolve('asterisk-ami-connector'))('asterisk-ami-events-stream') as new () => NodeJS.ReadWriteStream & {
  on(e: 'amiEvent', l: (ev: Ev) => void): void;
};

function templates(): { events: Ev[]; source: string } {
  const file = process.env.BENCH_CDR_TEMPLATES;
  if (file && existsSync(file)) {
    const events = JSON.parse(readFileSync(file, 'utf8')) as Ev[];
    if (events.length > 0) return { events, source: `${events.length} Cdr events captured from the harness's AMI in this run` };
  }
  const f = fixtures as unknown as Record<string, unknown>;
  const events = ['queueAnsweredBy1002', 'queueNotAnsweredBy1001', 'agentOutbound', 'internalCall', 'unanswered'].map((k) => f[k] as Ev).filter(Boolean);
  return { events, source: 'the project\'s real-shaped fixtures (test/support/fixtures/cdrs.ts)' };
}

const pbxTime = (ms: number) => DateTime.fromMillis(ms, { zone: 'utc' }).toFormat('yyyy-MM-dd HH:mm:ss');

/** N distinct Cdr events cloned from the templates. */
function generate(tpl: Ev[], n: number, run: number): Ev[] {
  const out: Ev[] = [];
  const base = Date.now() - 3600_000;
  for (let i = 0; i < n; i++) {
    const t = tpl[i % tpl.length]!;
    const e: Ev = { ...t };
    const customer = `+1212${String(run * 1_000_000 + i).padStart(7, '0')}`;
    for (const k of ['Source', 'Destination'] as const) if (e[k]?.startsWith('+')) e[k] = customer;
    if (e.CallerID?.includes('+')) e.CallerID = `"${customer}" <${customer}>`;
    const hex = (run * n + i).toString(16).padStart(8, '0');
    for (const k of ['Channel', 'DestinationChannel'] as const) if (e[k]) e[k] = e[k].replace(/-[0-9a-f]+$/, `-${hex}`);
    const end = base + i * 50;
    const dur = Number(e.Duration ?? 0) || 1;
    const bill = Number(e.BillableSeconds ?? 0);
    e.StartTime = pbxTime(end - dur * 1000);
    if (e.AnswerTime) e.AnswerTime = pbxTime(end - bill * 1000);
    e.EndTime = pbxTime(end);
    e.UniqueID = `${Math.floor(end / 1000)}.${run * n + i}`;
    if ('LinkedID' in e) e.LinkedID = e.UniqueID;
    out.push(e);
  }
  return out;
}

const toWire = (events: Ev[]) => Buffer.from(events.map((e) => `${Object.entries(e).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`).join(''));

async function runOnce(esUrl: string, tpl: Ev[], run: number, mode: 'wire64k' | 'objects') {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-bench-ingest-'));
  const prefix = `bench-ingest-${run}-${mode.toLowerCase()}`;
  const client = new Client({ node: esUrl });
  await installTemplates(client, prefix);
  const journal = new Journal(dir);
  const journalWrites = new JournalWriter(journal, { max: 10_000, log: pino({ level: 'silent' }) });
  const memory = new MemoryAffinity();
  const recent = new RecentDecisions();
  const policies = DidPolicies.fromConfig({ STICKY_WINDOW: 1800_000, AGENT_RING_TIMEOUT: 20_000, FALLBACK_CONTEXT: 'ivr', FALLBACK_EXTENSION: 's' });
  const shipper = new Shipper({ journal, client, prefix, log: pino({ level: 'silent' }) });
  let ingested = 0;
  let docs = 0;
  // The router's own ingest (src/cdr/ingest.ts), with the router's default settings.
  const ingest = new CdrIngest({
    store: journalWrites,
    learn: (doc, held) => {
      memory.rememberCdr(doc);
      if (!held) shipper.notify();
    },
    log: pino({ level: 'silent' }),
    mapping: {
      agentChannelPattern: /^PJSIP\/(\d+)-[0-9a-f]+$/,
      region: undefined,
      minTalkSeconds: (did) => policies.for(did).minTalkSeconds,
      annotate: (uniqueid, linkedid) => recent.annotate(uniqueid, linkedid),
    },
  });
  const ingestCdr = (e: Ev) => {
    ingested++;
    if (ingest.ingest(e)) docs++;
  };
  const events = generate(tpl, N, run);
  const wire = toWire(events);
  let heapPeak = 0;
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().rss)), 20);
  shipper.start();
  const t0 = performance.now();
  if (mode === 'objects') {
    for (let i = 0; i < events.length; i++) {
      ingestCdr(events[i]!);
      if (i % 100 === 99) await tick(); // let the shipper's I/O in, as socket reads would
    }
  } else {
    const stream = new AmiEventsStream();
    stream.on('amiEvent', ingestCdr);
    stream.on('data', () => undefined);
    for (let off = 0; off < wire.length; off += CHUNK) {
      stream.write(wire.subarray(off, off + CHUNK));
      await tick();
    }
  }
  const ingestS = (performance.now() - t0) / 1000;
  while (shipper.stats.shipped < docs) await new Promise((r) => setTimeout(r, 5));
  const totalS = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await shipper.stop();
  const stats = shipper.stats;
  journal.close();
  await client.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    mode,
    events: N,
    ingested,
    docs,
    shipped: stats.shipped,
    shipErrors: stats.errors,
    ingestPerS: N / ingestS,
    endToEndPerS: N / totalS,
    rssPeakMb: heapPeak / 1048576,
    wireBytes: wire.length,
  };
}

/** The AMI stream parser alone, wire text in 64 KB chunks versus one event per chunk. */
function parserOnly(tpl: Ev[]) {
  const events = generate(tpl, 20_000, 9);
  const wire = toWire(events);
  const per = (chunks: Buffer[]) => {
    const stream = new AmiEventsStream();
    let n = 0;
    stream.on('amiEvent', () => n++);
    stream.on('data', () => undefined);
    const t0 = performance.now();
    for (const c of chunks) stream.write(c);
    const s = (performance.now() - t0) / 1000;
    return n / s;
  };
  const big: Buffer[] = [];
  for (let off = 0; off < wire.length; off += CHUNK) big.push(wire.subarray(off, off + CHUNK));
  const small = events.map((e) => toWire([e]));
  return { eventsPerS64k: per(big), eventsPerSOnePerChunk: per(small), avgEventBytes: wire.length / events.length };
}

/** µs per CDR of each step of the path, measured one step at a time (5,000 events after 1,000 warm-up). */
function breakdown(tpl: Ev[]) {
  const n = 5000;
  const events = generate(tpl, n + 1000, 7);
  const opts = { minTalkSeconds: () => 1 };
  for (const e of events.slice(0, 1000)) cdrFromAmiEvent(e, opts);
  let t = performance.now();
  const docs = events.slice(1000).map((e) => cdrFromAmiEvent(e, opts)!).filter(Boolean);
  const parseUs = ((performance.now() - t) * 1000) / n;
  const dir = mkdtempSync(join(tmpdir(), 'sticky-bench-breakdown-'));
  const j1 = new Journal(join(dir, 'a'));
  t = performance.now();
  for (const d of docs) j1.append(d);
  const appendUs = ((performance.now() - t) * 1000) / docs.length;
  const j2 = new Journal(join(dir, 'b'));
  t = performance.now();
  for (let i = 0; i < docs.length; i += 100) j2.appendMany(docs.slice(i, i + 100));
  const appendBatchUs = ((performance.now() - t) * 1000) / docs.length;
  const memory = new MemoryAffinity();
  t = performance.now();
  for (const d of docs) memory.rememberCdr(d);
  const memoryUs = ((performance.now() - t) * 1000) / docs.length;
  t = performance.now();
  for (let i = 0; i < n; i++) DateTime.fromFormat('2025-06-01 10:00:07', 'yyyy-MM-dd HH:mm:ss', { zone: 'UTC' }).toUTC().toISO();
  const luxonUs = ((performance.now() - t) * 1000) / n;
  j1.close();
  j2.close();
  rmSync(dir, { recursive: true, force: true });
  return { cdrFromAmiEventUs: parseUs, journalAppendUs: appendUs, journalAppendMany100Us: appendBatchUs, rememberCdrUs: memoryUs, luxonFromFormatToIsoUs: luxonUs };
}

const { events: tpl, source } = templates();
// What src/ami/connection.ts does (BENCH_AMI_LIBRARY_PARSER=1: the library as published).
if (process.env.BENCH_AMI_LIBRARY_PARSER !== '1') installAmiStreamFastPath();
const es = await startEsDoubleProcess();
try {
  const runs = [];
  for (let r = 0; r < RUNS; r++) {
    runs.push(await runOnce(es.url, tpl, r, 'wire64k'));
    runs.push(await runOnce(es.url, tpl, r, 'objects'));
  }
  const parser = parserOnly(tpl);
  const steps = breakdown(tpl);
  process.stdout.write(`${JSON.stringify({ templates: source, runs, parser, steps, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
} finally {
  await es.stop();
}
