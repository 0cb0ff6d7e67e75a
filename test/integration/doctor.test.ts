// `sticky-router doctor` against the harness PBX as it is (all OK, exit 0), then with
// each thing it checks broken in turn: a config variant written into the running PBX
// and reloaded, a CLI command undone afterwards, or the router's own settings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { backfillEnv, harnessEnv } from '../support/harness.js';
import { withPbxCommand, withPbxConfig } from '../support/pbx-config.js';
import { startEsDouble, type EsDouble } from '../es-double/server.js';
import { allTemplates, installTemplates } from '../../src/cdr/index-template.js';

const root = resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'sticky-doctor-'));
let es: EsDouble;

interface Run {
  code: number;
  stdout: string;
  lines: { ok: boolean; check: string; message: string }[];
}

function doctor(env: Record<string, string> = {}, wrap: string[] = []): Promise<Run> {
  const argv = [...wrap, process.execPath, '--import', 'tsx', join(root, 'src/cli/main.ts'), 'doctor'];
  return new Promise((done, fail) => {
    execFile(argv[0]!, argv.slice(1), { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...harnessEnv, ...backfillEnv, ES_NODE: es.url, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      const lines = stdout.split('\n').map((l) => /^(OK |FIX) {2}(\S+)\s+(.*)$/.exec(l)).filter((m) => m !== null).map((m) => ({ ok: m[1] === 'OK ', check: m[2]!, message: m[3]! }));
      const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
      if (lines.length === 0) fail(new Error(`doctor printed no verdicts (exit ${code}): ${stdout}${stderr}`));
      else done({ code, stdout, lines });
    });
  });
}

/** The run failed exactly on `check` (matching `pattern`), exited 1, and everything else was OK. */
function assertOnlyFix(r: Run, check: string, pattern: RegExp): void {
  const bad = r.lines.filter((l) => !l.ok);
  assert.ok(bad.length > 0, `no FIX line:\n${r.stdout}`);
  assert.deepEqual([...new Set(bad.map((l) => l.check))], [check], r.stdout);
  assert.ok(bad.some((l) => pattern.test(l.message)), `no FIX ${check} line matching ${pattern}:\n${r.stdout}`);
  assert.equal(r.code, 1, 'exit code');
  assert.match(r.stdout, new RegExp(`^${bad.length} of ${r.lines.length} to fix$`, 'm'));
}

const routes = (doc: object) => {
  const p = join(dir, `routes-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify(doc));
  return p;
};

before(async () => {
  es = await startEsDouble();
  await installTemplates(new Client({ node: es.url }), 'cdr');
});

after(async () => {
  await es?.close();
});

const everyCheck = ['ari', 'ami', 'ari-user', 'stasis-app', 'dialplan', 'routes-file', 'manager-user', 'cdr-manager', 'cdr-store', 'timestampevents', 'agent-qualify', 'queues', 'clock', 'es-templates'];

test('the harness PBX as it is: every check OK, exit 0', async () => {
  const r = await doctor({ ROUTES_FILE: routes({ dids: { '100': { fallback: { context: 'ivr', extension: 's' } } } }) });
  assert.deepEqual(r.lines.filter((l) => !l.ok), [], r.stdout);
  assert.equal(r.code, 0);
  assert.deepEqual([...new Set(r.lines.map((l) => l.check))], everyCheck);
  assert.match(r.stdout, /^OK {3}dialplan\s+context \[sticky-inbound\] loaded .*Stasis\(\$\{STICKY_APP\},/m);
  assert.match(r.stdout, /^OK {3}agent-qualify\s+3 agent AORs qualified \(1001 every 2 s, 1002 every 2 s, 1003 every 2 s\)$/m);
  assert.match(r.stdout, /^OK {3}es-templates\s+index template cdr-sticky-router \(cdr-\*\) installed and current$/m);
  assert.match(r.stdout, /^all \d+ checks OK$/m);
});

test('wrong ARI password', async () => {
  assertOnlyFix(await doctor({ ARI_PASSWORD: 'wrong' }), 'ari', /rejected user "sticky" \(HTTP 401\).*ARI_USERNAME\/ARI_PASSWORD/);
});

test('ARI user read_only in ari.conf', async () => {
  await withPbxConfig('ari.conf', (t) => t.replace('read_only = no', 'read_only = yes'), 'module reload res_ari.so', async () => {
    assertOnlyFix(await doctor(), 'ari-user', /read_only = yes/);
  });
});

test('wrong AMI password: the AMI line says so, and every AMI check says it could not look', async () => {
  const r = await doctor({ AMI_PASSWORD: 'wrong' });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FIX {2}ami\s+AMI 127\.0\.0\.1:5038 rejected user "sticky"/m);
  for (const check of ['stasis-app', 'dialplan', 'manager-user', 'cdr-manager', 'cdr-store', 'timestampevents', 'agent-qualify', 'clock']) {
    assert.match(r.stdout, new RegExp(`^FIX  ${check}\\s+not checked: no AMI session`, 'm'));
  }
  assert.match(r.stdout, /^OK {3}ari\s/m);
});

test('ARI_APP is not the dialplan\'s STICKY_APP', async () => {
  assertOnlyFix(await doctor({ ARI_APP: 'other-router' }), 'stasis-app', /STICKY_APP is "sticky-router" but ARI_APP is "other-router"/);
});

test('a sticky-router.conf context is not loaded', async () => {
  await withPbxCommand('dialplan remove context sticky-ring', 'dialplan reload', async () => {
    assertOnlyFix(await doctor(), 'dialplan', /context \[sticky-ring\] is not loaded.*#include sticky-router\.conf/);
  });
});

test('the fallback target (FALLBACK_CONTEXT, and a DID\'s in ROUTES_FILE) does not exist', async () => {
  assertOnlyFix(await doctor({ FALLBACK_CONTEXT: 'no-such-ivr' }), 'dialplan', /FALLBACK_CONTEXT\/FALLBACK_EXTENSION no-such-ivr,s does not exist/);
  assertOnlyFix(await doctor({ ROUTES_FILE: routes({ dids: { '100': { fallback: { context: 'ivr', extension: '7777' } } } }) }), 'dialplan', /ROUTES_FILE DID 100 fallback ivr,7777 does not exist/);
});

test('an invalid ROUTES_FILE', async () => {
  assertOnlyFix(await doctor({ ROUTES_FILE: routes({ dids: { '100': { window: '30 minutes' } } }) }), 'routes-file', /dids\.100\.window.*would exit 78/);
});

test('the manager user lacks read and write classes', async () => {
  await withPbxConfig('manager.conf', (t) => t.replace('read = system,call,agent,cdr,user,dialplan,reporting', 'read = system,call,cdr,user,dialplan,reporting').replace('write = system,call,agent,originate,reporting', 'write = system,call,agent,reporting'), 'manager reload', async () => {
    assertOnlyFix(await doctor(), 'manager-user', /\[sticky\]: read lacks agent; write lacks originate: set read = system,call,agent,cdr,user,dialplan,reporting/);
  });
});

test('cdr_manager not loaded, disabled, or without the LinkedID mapping', async () => {
  await withPbxCommand('module unload cdr_manager.so', 'module load cdr_manager.so', async () => {
    assertOnlyFix(await doctor(), 'cdr-manager', /module cdr_manager is not loaded/);
  });
  await withPbxConfig('cdr_manager.conf', (t) => t.replace('enabled = yes', 'enabled = no'), 'module reload cdr_manager.so', async () => {
    assertOnlyFix(await doctor(), 'cdr-manager', /enabled = no: set enabled = yes/);
  });
  await withPbxConfig('cdr_manager.conf', (t) => t.replace('linkedid => LinkedID', ''), 'module reload cdr_manager.so', async () => {
    assertOnlyFix(await doctor(), 'cdr-manager', /no `linkedid => LinkedID` under \[mappings\]/);
  });
});

test('the durable CDR store: unset, module unloaded, wrong table, missing columns, unreadable file, no queue_log', async () => {
  const r = await doctor({ ASTERISK_CDR_DB: '', ASTERISK_QUEUE_LOG: '' });
  assertOnlyFix(r, 'cdr-store', /ASTERISK_CDR_DB is unset: CDRs Asterisk emits while the router has no AMI session are lost/);
  assert.match(r.stdout, /FIX {2}cdr-store\s+ASTERISK_QUEUE_LOG is unset/);
  await withPbxCommand('module unload cdr_sqlite3_custom.so', 'module load cdr_sqlite3_custom.so', async () => {
    assertOnlyFix(await doctor(), 'cdr-store', /module cdr_sqlite3_custom is not loaded/);
  });
  assertOnlyFix(await doctor({ ASTERISK_CDR_TABLE: 'other_cdr' }), 'cdr-store', /no category with table = other_cdr/);
  await withPbxConfig('cdr_sqlite3_custom.conf', (t) => t.replace(/^columns = (.*), end_epoch,/m, 'columns = $1,').replace(/^fields = (.*), end\(int64\),/m, 'fields = $1,'), 'module reload cdr_sqlite3_custom.so', async () => {
    assertOnlyFix(await doctor(), 'cdr-store', /lacks column\(s\) end_epoch/);
  });
  const missing = await doctor({ ASTERISK_CDR_DB: join(dir, 'sticky-cdr.db') });
  assertOnlyFix(missing, 'cdr-store', /cannot read .*sticky-cdr\.db.*the router cannot open it/);
  assertOnlyFix(await doctor({ ASTERISK_CDR_DB: join(dir, 'elsewhere.db') }), 'cdr-store', /Asterisk writes the store to sticky-cdr\.db, but ASTERISK_CDR_DB names/);
  assertOnlyFix(await doctor({ ASTERISK_QUEUE_LOG: join(dir, 'no-queue_log') }), 'cdr-store', /cannot read ASTERISK_QUEUE_LOG/);
});

test('timestampevents off', async () => {
  await withPbxConfig('manager.conf', (t) => t.replace('timestampevents = yes', 'timestampevents = no'), 'manager reload', async () => {
    assertOnlyFix(await doctor(), 'timestampevents', /timestampevents = no: set timestampevents = yes/);
  });
});

test('agents\' AORs without qualify', async () => {
  await withPbxConfig('pjsip.conf', (t) => t.replace('qualify_frequency = 2', 'qualify_frequency = 0'), 'module reload res_pjsip.so', async () => {
    assertOnlyFix(await doctor(), 'agent-qualify', /agent AORs 1001, 1002, 1003 without qualify/);
  });
  // An AGENT_CHANNEL_PATTERN that matches no AOR is as bad: nothing is checked.
  assertOnlyFix(await doctor({ AGENT_CHANNEL_PATTERN: '^SIP/(\\d+)-[0-9a-f]+$' }), 'agent-qualify', /no PJSIP AOR is an agent/);
});

test('a queue named in ROUTES_FILE does not exist', async () => {
  const r = await doctor({ ROUTES_FILE: routes({ dids: { '100': { queue: 'support' }, '200': { queue: 'no-such-queue' } } }) });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^OK {3}queues\s+queue "support" \(ROUTES_FILE 100\) exists, 3 members$/m);
  assert.match(r.stdout, /^FIX {2}queues\s+queue "no-such-queue" \(ROUTES_FILE 200\) does not exist on the PBX/m);
});

test('the router\'s clock 30 s ahead of the PBX (libfaketime)', async () => {
  const r = await doctor({}, ['faketime', '-f', '+30s']);
  assertOnlyFix(r, 'clock', /clocks differ: PBX behind this host by (29\.9\d\d|30\.0\d\d) s/);
});

test('Elasticsearch templates missing, outdated, or the cluster unreachable', async () => {
  const client = new Client({ node: es.url });
  const [cdr] = allTemplates('cdr');
  await client.indices.deleteIndexTemplate({ name: cdr!.name });
  assertOnlyFix(await doctor(), 'es-templates', /index template cdr-sticky-router \(cdr-\*\) is not installed.*sticky-router setup/);
  await client.indices.putIndexTemplate({ name: cdr!.name, index_patterns: ['cdr-*'], priority: 200, _meta: { managed_by: 'sticky-router', hash: 'an-older-version' } });
  assertOnlyFix(await doctor(), 'es-templates', /index template cdr-sticky-router differs from this version's/);
  await installTemplates(client, 'cdr');
  assertOnlyFix(await doctor({ ES_NODE: 'http://127.0.0.1:1' }), 'es-templates', /Elasticsearch at http:\/\/127\.0\.0\.1:1\/?: .*(ECONNREFUSED|ConnectionError)/);
});
