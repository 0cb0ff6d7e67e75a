import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@elastic/elasticsearch';
import { cdrTemplate, installTemplate, TemplateRefusedError } from '../../src/cdr/index-template.js';
import { dailyIndex } from '../../src/cdr/index-names.js';
import { testCluster, type TestCluster } from '../es-double/cluster.js';
import { makeCdr } from '../support/fixtures/cdrs.js';

let cluster: TestCluster;
let client: Client;
const prefix = `t-tpl-${process.pid}`;
// Not `${prefix}-…`: `${prefix}-*` would overlap it, and ES refuses two templates of equal priority that overlap.
const cliPrefix = `t-tplcli-${process.pid}`;

before(async () => {
  cluster = await testCluster();
  client = new Client({ node: cluster.node });
  await cluster.clean(prefix);
});
after(async () => {
  await cluster.clean(prefix);
  await cluster.clean(cliPrefix);
  await client.close();
  await cluster.close();
});

test('installs once, then leaves an identical template alone, and updates a changed one', async () => {
  assert.deepEqual(await installTemplate(client, prefix), { name: `${prefix}-sticky-router`, patterns: [`${prefix}-*`], action: 'created' });
  assert.equal((await installTemplate(client, prefix)).action, 'unchanged');
  const changed = cdrTemplate(prefix);
  changed.body.priority = 201;
  assert.equal((await installTemplate(client, prefix, changed)).action, 'updated');
  assert.equal((await installTemplate(client, prefix)).action, 'updated', 'back to the shipped template');
  assert.equal((await installTemplate(client, prefix)).action, 'unchanged');
});

test('a new daily index gets keyword numbers, dates, integers, boolean, and refresh 1s', async () => {
  await installTemplate(client, prefix);
  const doc = { ...makeCdr(1), customer_raw: '0961234567', extra_field: 'unexpected string' };
  const index = dailyIndex(prefix, doc['@timestamp']);
  await client.index({ index, id: doc.id, document: doc, refresh: true });
  const mapping = (await client.indices.getMapping({ index }))[index]?.mappings.properties ?? {};
  assert.equal(mapping.customer_e164?.type, 'keyword');
  assert.equal(mapping.customer_raw?.type, 'keyword', '0961… must not become a long (leading zero)');
  assert.equal(mapping['@timestamp']?.type, 'date');
  assert.equal(mapping.talk_seconds?.type, 'integer');
  assert.equal(mapping.talked?.type, 'boolean');
  assert.equal(mapping.extra_field?.type, 'keyword', 'unknown strings stay keywords');
  const asterisk = (mapping.asterisk as { properties?: Record<string, { type?: string }> }).properties ?? {};
  assert.equal(asterisk.uniqueid?.type, 'keyword');
  assert.equal(asterisk.end?.type, 'date');
  assert.equal(asterisk.billsec?.type, 'integer');
  const settings = (await client.indices.get({ index }))[index]?.settings?.index;
  assert.equal(settings?.refresh_interval, '1s');
  assert.deepEqual(settings?.sort, { field: '@timestamp', order: 'desc' });
  // A term lookup with the + finds it: the whole point of mapping numbers as keyword.
  const found = await client.count({ index, query: { term: { customer_e164: doc.customer_e164 } } });
  assert.equal(found.count, 1);
});

test('the cluster refusing the template (400) gives an error naming its reason', async () => {
  const bad = cdrTemplate(`${prefix}-bad`);
  bad.body.template = { mappings: { properties: { talk_seconds: { type: 'no_such_type' as 'integer' } } } };
  await assert.rejects(installTemplate(client, `${prefix}-bad`, bad), (e: unknown) => {
    assert.ok(e instanceof TemplateRefusedError);
    assert.match(e.message, new RegExp(`refused index template ${prefix}-bad-sticky-router`));
    assert.match(e.message, /HTTP 400 .*no_such_type/);
    return true;
  });
});

// A cluster that answers 403, as Elasticsearch does for a user without manage_index_templates.
async function forbiddingCluster(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(403, { 'x-elastic-product': 'Elasticsearch', 'content-type': 'application/json' });
    res.end(JSON.stringify({
      error: { type: 'security_exception', reason: 'action [indices:admin/index_template/get] is unauthorized for user [router]' },
      status: 403,
    }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('403 from the cluster: TemplateRefusedError with the security reason; `setup` exits 2 with it', async () => {
  const { url, server } = await forbiddingCluster();
  const c = new Client({ node: url, maxRetries: 0 });
  try {
    await assert.rejects(installTemplate(c, prefix), (e: unknown) => {
      assert.ok(e instanceof TemplateRefusedError);
      assert.match(e.message, /HTTP 403 security_exception: action \[indices:admin\/index_template\/get\] is unauthorized for user \[router\]/);
      return true;
    });
    const r = await runCli(['setup'], { ES_NODE: url, ES_USERNAME: 'router', ES_PASSWORD: 's3cret-pw' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /sticky-router setup: Elasticsearch refused index template cdr-sticky-router .*security_exception/);
    assert.doesNotMatch(r.stderr + r.stdout, /s3cret-pw/);
  } finally {
    await c.close();
    server.close();
  }
});

test('`setup` prints what it did; exits 78 with a clear message when ES_NODE is unset', async () => {
  const env = { ES_NODE: cluster.node, ES_INDEX_PREFIX: cliPrefix };
  const first = await runCli(['setup'], env);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout, `index template ${cliPrefix}-sticky-router for ${cliPrefix}-*: created\nindex template ${cliPrefix}-abandons-sticky-router for ${cliPrefix}-abandons-*: created\nindex template ${cliPrefix}-agent-states-sticky-router for ${cliPrefix}-agent-states: created\n`);
  const again = await runCli(['setup'], env);
  assert.match(again.stdout, /: unchanged\n$/);
  const unset = await runCli(['setup'], {});
  assert.equal(unset.status, 78);
  assert.match(unset.stderr, /sticky-router setup: ES_NODE is not set/);
});

// Async so the in-process double keeps answering while the child runs.
function runCli(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ES_') && !k.startsWith('ARI_') && !k.startsWith('AMI_')));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/fixtures/cli.ts', ...args], { env: { ...clean, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
