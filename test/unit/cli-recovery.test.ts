// The operator's recovery commands: records Elasticsearch refused (`rejected
// list|reship`) and notifications given up on (`notifications failed|requeue`),
// run the way the published bin runs them, over a DATA_DIR of real files.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Journal } from '../../src/cdr/journal.js';
import { OutboxStore } from '../../src/abandon/outbox-store.js';
import { AbandonRecord } from '../../src/abandon/record.js';
import { makeCdr } from '../support/fixtures/cdrs.js';

const root = resolve(import.meta.dirname, '..', '..');
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const cli = (dataDir: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir }, encoding: 'utf8' });

test('rejected list shows what the cluster refused and why; reship puts it back in the shipping queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-rejected-'));
  dirs.push(dir);
  const j = new Journal(dir);
  const docs = [1, 2, 3].map((i) => makeCdr(i));
  j.appendMany(docs);
  j.markShipped([docs[0]!.id]);
  j.markRejected([{ id: docs[1]!.id, error: 'HTTP 400 mapper_parsing_exception: failed to parse field [talk_seconds]' }, { id: docs[2]!.id, error: 'HTTP 400 x' }]);
  assert.equal(j.backlog(), 0);
  j.close();

  const list = cli(dir, 'rejected', 'list');
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${docs[1]!.id}  cdr .*mapper_parsing_exception: failed to parse field \\[talk_seconds\\]`));
  assert.equal(list.stdout.trim().split('\n').length, 2);
  assert.match(list.stderr, /^2 record\(s\) refused by Elasticsearch/);
  const json = cli(dir, 'rejected', 'list', '--json');
  assert.deepEqual(json.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id).sort(), [docs[1]!.id, docs[2]!.id].sort());

  const one = cli(dir, 'rejected', 'reship', docs[1]!.id);
  assert.match(one.stdout, /^1 record\(s\) queued for shipping again/);
  const all = cli(dir, 'rejected', 'reship');
  assert.match(all.stdout, /^1 record\(s\) queued/);
  const j2 = new Journal(dir, { readonly: true });
  assert.equal(j2.rejected(), 0);
  assert.deepEqual(j2.unshipped(10).map((r) => r.id).sort(), [docs[1]!.id, docs[2]!.id].sort(), 'both back in the queue; the shipped one untouched');
  j2.close();
});

test('notifications failed lists what a receiver refused for good; requeue (per channel or all) sends it again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-notify-'));
  dirs.push(dir);
  const s = new OutboxStore(dir);
  const rec = AbandonRecord.fromEvent({ source: 'queue', at: '2026-01-01T10:00:00.000Z', caller: { raw: '+12025550111', e164: '+12025550111' }, waitedMs: 9000, uniqueid: '1.1', queue: 'support' });
  const r = s.enqueue(rec, ['webhook', 'slack'], 0, Date.now());
  s.markFailed(r.notificationId!, 'slack', Date.now(), 'HTTP 404: no such webhook');
  s.markFailed(r.notificationId!, 'webhook', Date.now(), 'HTTP 410 gone');
  s.close();

  const failed = cli(dir, 'notifications', 'failed');
  assert.equal(failed.status, 0, failed.stderr);
  assert.match(failed.stdout, /slack .*\+12025550111 at 2026-01-01T10:00:00.000Z {2}HTTP 404: no such webhook/);
  assert.match(failed.stderr, /^2 notification\(s\) failed for good/);
  assert.match(cli(dir, 'notifications', 'requeue', '--channel', 'slack').stdout, /^1 notification\(s\) queued again/);
  const s2 = new OutboxStore(dir);
  assert.deepEqual(s2.counts(), { slack: { pending: 1, failed: 0 }, webhook: { pending: 0, failed: 1 } });
  s2.close();
  assert.match(cli(dir, 'notifications', 'requeue').stdout, /^1 notification/);
});
