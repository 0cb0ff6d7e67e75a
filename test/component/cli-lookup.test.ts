// `sticky-router lookup`: what the router would decide now, from Elasticsearch or
// from the journal alone, run as an operator runs it (the real CLI entry point).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { Client } from '@elastic/elasticsearch';
import { testCluster } from '../es-double/cluster.js';
import { historyDoc, seedHistory } from '../support/history.js';
import { installTemplates } from '../../src/cdr/index-template.js';
import { Journal } from '../../src/cdr/journal.js';

const prefix = `t-lookup-${Date.now()}`;
let cluster: Awaited<ReturnType<typeof testCluster>>;
const dataDir = mkdtempSync(join(tmpdir(), 'sticky-lookup-'));

// Async: the Elasticsearch double runs in this process and must keep answering.
function lookup(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'lookup', ...args], {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, LOOKUP_TIMEOUT: 'PT2S', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

before(async () => {
  cluster = await testCluster();
  const es = new Client({ node: cluster.node });
  await installTemplates(es, prefix);
  await es.close();
  await seedHistory(cluster.node, prefix, [historyDoc('+12025550100', '1002', DateTime.utc().minus({ minutes: 10 }))]);
  const journal = new Journal(dataDir);
  journal.append(historyDoc('+380961234567', '1003', DateTime.utc().minus({ minutes: 3 })));
  journal.close();
});

after(async () => {
  await cluster.clean(prefix);
  await cluster.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('--json: a caller found in Elasticsearch would ring their agent', async () => {
  const r = await lookup(['+12025550100', '--json'], { ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix });
  assert.equal(r.status, 0, r.stderr);
  const a = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(a.action, 'ring');
  assert.equal(a.reason, 'sticky_agent');
  assert.equal(a.agent, '1002');
  assert.equal(a.source, 'elasticsearch');
  assert.ok(Math.abs(DateTime.fromISO(a.lastTalkedAt as string).diffNow('minutes').minutes + 10) < 1, String(a.lastTalkedAt));
});

test('journal only (no ES_NODE), national number with DEFAULT_COUNTRY: found in the journal', async () => {
  const r = await lookup(['0961234567'], { DEFAULT_COUNTRY: 'UA' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /caller\s+\+380961234567 \(as given: 0961234567\)/);
  assert.match(r.stdout, /decision\s+ring agent 1003 \(sticky_agent\)/);
  assert.match(r.stdout, /found in journal/);
});

test('no history and garbage numbers get the fallback with the reason', async () => {
  const none = JSON.parse((await lookup(['+12025550999', '--json'], {})).stdout) as Record<string, unknown>;
  assert.deepEqual([none.action, none.reason], ['fallback', 'no_history']);
  const junk = JSON.parse((await lookup(["' OR 1=1 --", '--json'], {})).stdout) as Record<string, unknown>;
  assert.deepEqual([junk.action, junk.reason], ['fallback', 'invalid_caller']);
});

test('a bad setting is named, before anything is looked up', async () => {
  const r = await lookup(['+12025550100'], { STICKY_WINDOW: 'half an hour' });
  assert.equal(r.status, 78);
  assert.match(r.stderr, /config: STICKY_WINDOW="half an hour" is invalid/);
});
