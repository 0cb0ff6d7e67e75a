import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough, Writable } from 'node:stream';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { csvCell, csvColumns, csvRow, writeExport } from '../../src/cdr/export.js';
import { installTemplate } from '../../src/cdr/index-template.js';
import { dailyIndex } from '../../src/cdr/index-names.js';
import { Journal } from '../../src/cdr/journal.js';
import type { CdrDocument } from '../../src/cdr/schema.js';
import { runExport } from '../../src/cli/export.js';
import { loadConfig } from '../../src/config.js';
import { testCluster, type TestCluster } from '../es-double/cluster.js';
import { makeCdr } from '../support/fixtures/cdrs.js';

const N = 200_000;
const start = Date.UTC(2025, 5, 1, 12); // one CDR per second: 200,000 s ≈ 2.3 days, four daily indices
const from = DateTime.fromMillis(start, { zone: 'utc' });
const to = from.plus({ seconds: N });
const RSS_BOUND = 300 * 1024 * 1024;
const HEAP_CAP_MB = 96;

let cluster: TestCluster;
let client: Client;
let dir: string;
const prefix = `t-export-${process.pid}`;

before(async () => {
  cluster = await testCluster();
  client = new Client({ node: cluster.node, requestTimeout: 60_000 });
  await cluster.clean(prefix);
  dir = mkdtempSync(join(tmpdir(), 'export-test-'));
});
after(async () => {
  await cluster.clean(prefix);
  await client.close();
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
});

// --- formats and backpressure ------------------------------------------------------

test('CSV: fixed header, RFC 4180 quoting of commas, quotes and newlines, empty for absent', () => {
  assert.deepEqual(csvColumns.slice(0, 10), ['timestamp', 'id', 'direction', 'customer_e164', 'customer_raw', 'agent', 'talk_seconds', 'talked', 'sticky_reason', 'did']);
  assert.ok(csvColumns.includes('asterisk.uniqueid') && csvColumns.includes('asterisk.disposition'));
  assert.equal(csvCell('plain'), 'plain');
  assert.equal(csvCell('"Agent, 1002" <1002>'), '"""Agent, 1002"" <1002>"');
  assert.equal(csvCell('two\nlines'), '"two\nlines"');
  assert.equal(csvCell(undefined), '');
  assert.equal(csvCell(false), 'false');
  const doc: CdrDocument = { ...makeCdr(7), sticky_reason: undefined, asterisk: { ...makeCdr(7).asterisk, clid: '"Smith, J" <+12025550007>' } };
  const row = csvRow(doc);
  assert.ok(row.endsWith('\r\n'));
  assert.equal(row.split(',').length > csvColumns.length, true, 'the quoted comma is inside one cell');
  assert.match(row, /,"""Smith, J"" <\+12025550007>",/);
});

test('CSV: a text cell starting with = + - @ (formula in a spreadsheet) is neutralised with a leading quote', () => {
  assert.equal(csvCell('=HYPERLINK("http://evil","x")'), `"'=HYPERLINK(""http://evil"",""x"")"`);
  assert.equal(csvCell('+12025550007'), "'+12025550007");
  assert.equal(csvCell('-2+3'), "'-2+3");
  assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvCell('\t=1'), "'\t=1");
  assert.equal(csvCell('1002'), '1002');
  assert.equal(csvCell(-5), '-5', 'numbers are not text');
  const doc: CdrDocument = { ...makeCdr(8), asterisk: { ...makeCdr(8).asterisk, src: '=cmd|"/c calc"!A1', clid: '"=1+1" <+12025550008>' } };
  const row = csvRow(doc);
  assert.ok(!/(^|,)[=+\-@]/.test(row.replace(/"[^"]*"/g, (m) => m.replace(/,/g, ' '))), `no cell starts with a formula character: ${row}`);
  assert.match(row, /,"'=cmd\|""\/c calc""!A1",/);
});

test('writeExport waits for drain: a slow output never holds more than a chunk or two', async () => {
  let maxBuffered = 0;
  let bytes = 0;
  const slow = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      setTimeout(cb, 1);
    },
  });
  const docs = function* () {
    for (let i = 0; i < 20_000; i++) {
      maxBuffered = Math.max(maxBuffered, slow.writableLength);
      yield makeCdr(i);
    }
  };
  const progress: number[] = [];
  const n = await writeExport(docs(), { format: 'ndjson', out: slow, onProgress: (k) => progress.push(k), progressEvery: 5000 });
  assert.equal(n, 20_000);
  assert.ok(bytes > 10 * 1024 * 1024, `wrote ${bytes} bytes`);
  assert.ok(maxBuffered < 200 * 1024, `buffered up to ${maxBuffered} bytes`);
  assert.deepEqual(progress, [5000, 10000, 15000, 20000, 20000]);
});

test('progress goes to stderr with \\r only when stderr is a TTY', async () => {
  const dataDir = join(dir, 'tty');
  const j = new Journal(dataDir);
  j.appendMany(Array.from({ length: 3000 }, (_, i) => makeCdr(i, { start })));
  j.close();
  const config = loadConfig({ DATA_DIR: dataDir }, ['DATA_DIR']);
  for (const isTTY of [true, false]) {
    let err = '';
    const stderr = Object.assign(new Writable({ write: (c: Buffer, _e, cb) => ((err += c.toString()), cb()) }), { isTTY });
    const stdout = new PassThrough();
    stdout.resume();
    const n = await runExport(config, { from, to, format: 'csv' }, { stdout, stderr });
    assert.equal(n, 3000);
    if (isTTY) assert.match(err, /^\rexported \d+ CDRs/);
    else assert.equal(err, '');
  }
});

// --- 200,000 CDRs ---------------------------------------------------------------------

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  rss?: { baselineRss: number; maxRss: number };
}

/** Runs the export CLI in a child (its own heap: the in-process double's memory does not count). */
function runCli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ES|ARI|AMI)_|^DATA_DIR$/.test(k)));
    // A small old-space cap on top of the RSS figure: an export that held every row would die here.
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, '--import', 'tsx', 'test/support/fixtures/cli.ts', ...args], {
      env: { ...clean, MEASURE_RSS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let fd3 = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdio[3]?.on('data', (d: Buffer) => (fd3 += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr, ...(fd3 ? { rss: JSON.parse(fd3) as Run['rss'] } : {}) }));
  });
}

/** Streams the file: line count and the id column of the first and last data lines. */
async function scan(path: string, idOf: (line: string) => string, header: boolean): Promise<{ lines: number; first: string; last: string; headerLine?: string }> {
  let lines = 0;
  let first = '';
  let last = '';
  let headerLine: string | undefined;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (header && headerLine === undefined) {
      headerLine = line;
      continue;
    }
    lines++;
    if (lines === 1) first = idOf(line);
    last = line;
  }
  return { lines, first, last: idOf(last), ...(headerLine !== undefined ? { headerLine } : {}) };
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

test(`export of ${N.toLocaleString('en')} CDRs from Elasticsearch (PIT + search_after): every row, constant memory`, { timeout: 120_000 }, async (t) => {
  await installTemplate(client, prefix);
  async function* docs() {
    // Just outside [from, to) on both sides: must not be exported.
    yield { ...makeCdr(-1, { start }), id: 'before-from' };
    for (let i = 0; i < N; i++) yield makeCdr(i, { start });
    yield { ...makeCdr(N, { start }), id: 'at-to' };
  }
  const ingest = await client.helpers.bulk<CdrDocument>({
    datasource: docs(),
    onDocument: (d) => ({ index: { _index: dailyIndex(prefix, d['@timestamp']), _id: d.id } }),
    refreshOnCompletion: `${prefix}-*`,
  });
  assert.equal(ingest.failed, 0);
  cluster.double?.requests.splice(0);

  const out = join(dir, 'es.ndjson');
  const r = await runCli(['export', '--from', from.toISO() ?? '', '--to', to.toISO() ?? '', '--format', 'ndjson', '--out', out], {
    ES_NODE: cluster.node,
    ES_INDEX_PREFIX: prefix,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`exported ${N} CDRs to `));
  assert.equal(existsSync(`${out}.partial`), false);
  const got = await scan(out, (l) => (JSON.parse(l) as CdrDocument).id, false);
  assert.equal(got.lines, N);
  assert.equal(got.first, makeCdr(0, { start }).id);
  assert.equal(got.last, makeCdr(N - 1, { start }).id);

  assert.ok(r.rss);
  const growth = r.rss.maxRss - r.rss.baselineRss;
  t.diagnostic(`elasticsearch export: baseline RSS ${mb(r.rss.baselineRss)}, peak ${mb(r.rss.maxRss)}, growth ${mb(growth)}`);
  assert.ok(growth < RSS_BOUND, `peak RSS grew by ${mb(growth)}`);

  if (cluster.double) {
    const reqs = cluster.double.requests;
    assert.equal(reqs.filter((q) => q.path.endsWith('/_pit') && q.method === 'POST').length, 1);
    assert.equal(reqs.filter((q) => q.path === '/_pit' && q.method === 'DELETE').length, 1, 'the PIT is closed at the end');
    const searches = reqs.filter((q) => q.path === '/_search');
    assert.equal(searches.length, Math.ceil(N / 5000) + (N % 5000 === 0 ? 1 : 0));
    const body = searches[1]?.body as { size: number; sort: unknown; search_after?: unknown[] };
    assert.equal(body.size, 5000);
    assert.deepEqual(body.sort, [{ '@timestamp': 'asc' }, { _shard_doc: 'asc' }]);
    assert.ok(Array.isArray(body.search_after));
  }
});

test('export from Elasticsearch as CSV to stdout', async () => {
  const r = await runCli(['export', '--from', from.toISO() ?? '', '--to', from.plus({ seconds: 3 }).toISO() ?? ''], {
    ES_NODE: cluster.node,
    ES_INDEX_PREFIX: prefix,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\r\n');
  assert.equal(lines[0], csvColumns.join(','));
  assert.equal(lines.length, 5, 'header, 3 rows, and the final empty string');
  assert.equal(lines[1]?.split(',')[1], makeCdr(0, { start }).id);
});

test(`export of ${N.toLocaleString('en')} CDRs from the journal (ES_NODE unset), next to a live writer`, { timeout: 120_000 }, async (t) => {
  const dataDir = join(dir, 'journal-export');
  const j = new Journal(dataDir);
  t.after(() => j.close());
  const batch: CdrDocument[] = [];
  for (let i = -1; i <= N; i++) {
    batch.push(makeCdr(i, { start }));
    if (batch.length === 10_000) j.appendMany(batch.splice(0));
  }
  j.appendMany(batch);

  const out = join(dir, 'journal.csv');
  const r = await runCli(['export', '--from', from.toISO() ?? '', '--to', to.toISO() ?? '', '--format', 'csv', '--out', out], { DATA_DIR: dataDir });
  assert.equal(r.status, 0, r.stderr);
  const got = await scan(out, (l) => l.split(',')[1] ?? '', true);
  assert.equal(got.headerLine, csvColumns.join(','));
  assert.equal(got.lines, N);
  assert.equal(got.first, makeCdr(0, { start }).id);
  assert.equal(got.last, makeCdr(N - 1, { start }).id);
  assert.ok(r.rss);
  const growth = r.rss.maxRss - r.rss.baselineRss;
  t.diagnostic(`journal export: baseline RSS ${mb(r.rss.baselineRss)}, peak ${mb(r.rss.maxRss)}, growth ${mb(growth)}`);
  assert.ok(growth < RSS_BOUND, `peak RSS grew by ${mb(growth)}`);
});

test('export refuses bad arguments (exit 64) and a missing journal (exit 1) with clear messages', async () => {
  const badTime = await runCli(['export', '--from', 'yesterday', '--to', '2025-06-02'], { DATA_DIR: dir });
  assert.equal(badTime.status, 64);
  assert.match(badTime.stderr, /--from "yesterday" is not an ISO-8601 date/);
  const backwards = await runCli(['export', '--from', '2025-06-02', '--to', '2025-06-01'], { DATA_DIR: dir });
  assert.equal(backwards.status, 64);
  assert.match(backwards.stderr, /--to .* must be after --from/);
  const none = await runCli(['export', '--from', '2025-06-01', '--to', '2025-06-02'], { DATA_DIR: join(dir, 'nothing-here') });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no journal at .*journal\.sqlite and ES_NODE is unset/);
  assert.equal(readFileSync(join(dir, 'journal.csv'), 'utf8').length > 0, true);
});
