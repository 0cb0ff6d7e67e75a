import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importKibanaObjects, importUrl, KibanaImportError } from '../../src/cli/setup-kibana.js';

const shipped = join(import.meta.dirname, '..', '..', 'docker', 'kibana', 'saved-objects.ndjson');

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  parts: { headers: Record<string, string>; body: string }[];
}

/** A fake Kibana: records each request, parses the multipart body, answers what the test says. */
async function fakeKibana(answer: (r: Received) => { status: number; body: unknown }) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(req.headers['content-type'] ?? '');
      const parts = boundary ? parseMultipart(raw, boundary[1] ?? boundary[2]!) : [];
      const r: Received = { method: req.method!, url: req.url!, headers: req.headers, parts };
      received.push(r);
      const a = answer(r);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function parseMultipart(raw: string, boundary: string) {
  return raw
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const [head, ...rest] = chunk.replace(/^\r\n/, '').split('\r\n\r\n');
      const headers: Record<string, string> = {};
      for (const line of head!.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      return { headers, body: rest.join('\r\n\r\n').replace(/\r\n$/, '') };
    });
}

const okAnswer = (r: Received) => {
  const lines = r.parts[0]?.body.split('\n').filter((l) => l.trim()) ?? [];
  const objs = lines.map((l) => JSON.parse(l) as { type: string; id: string; attributes: { title?: string } });
  return { status: 200, body: { success: true, successCount: objs.length, successResults: objs.map((o) => ({ type: o.type, id: o.id, meta: { title: o.attributes.title } })) } };
};

test('uploads the ndjson as multipart form-data with kbn-xsrf, overwrite=true and Basic auth', async () => {
  const kbn = await fakeKibana(okAnswer);
  try {
    const r = await importKibanaObjects(kbn.url, { username: 'elastic', password: 'changeme' }, shipped);
    assert.equal(kbn.received.length, 1);
    const req = kbn.received[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/api/saved_objects/_import?overwrite=true');
    assert.equal(req.headers['kbn-xsrf'], 'true');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('elastic:changeme').toString('base64')}`);
    assert.match(req.headers['content-type'] ?? '', /^multipart\/form-data; boundary=/);
    assert.equal(req.parts.length, 1);
    const part = req.parts[0]!;
    assert.match(part.headers['content-disposition'] ?? '', /^form-data; name="file"; filename="saved-objects\.ndjson"$/);
    assert.equal(part.headers['content-type'], 'application/ndjson');
    assert.equal(part.body, readFileSync(shipped, 'utf8'));
    assert.equal(r.successCount, readFileSync(shipped, 'utf8').trim().split('\n').length);
    assert.ok(r.imported.some((o) => o.type === 'dashboard' && o.id === 'sticky-router-dashboard'));
  } finally {
    await kbn.close();
  }
});

test('API key auth, a space, a base path, and credentials in the URL', async () => {
  const kbn = await fakeKibana(okAnswer);
  try {
    await importKibanaObjects(`${kbn.url}/kibana/`, { apiKey: 'a2V5OnNlY3JldA==' }, shipped, { space: 'contact-centre' });
    assert.equal(kbn.received[0]!.url, '/kibana/s/contact-centre/api/saved_objects/_import?overwrite=true');
    assert.equal(kbn.received[0]!.headers.authorization, 'ApiKey a2V5OnNlY3JldA==');
    await importKibanaObjects(kbn.url.replace('http://', 'http://elastic:p%40ss@'), undefined, shipped);
    assert.equal(kbn.received[1]!.url, '/api/saved_objects/_import?overwrite=true');
    assert.equal(kbn.received[1]!.headers.authorization, `Basic ${Buffer.from('elastic:p@ss').toString('base64')}`);
    await importKibanaObjects(kbn.url, undefined, shipped);
    assert.equal(kbn.received[2]!.headers.authorization, undefined);
  } finally {
    await kbn.close();
  }
  assert.throws(() => importUrl('ftp://kibana'), /must be http/);
  assert.throws(() => importUrl('http://kibana', '../x'), /not a Kibana space id/);
});

test('ES_INDEX_PREFIX and the logs pattern rename the data views; nothing else changes', async () => {
  const kbn = await fakeKibana(okAnswer);
  try {
    await importKibanaObjects(kbn.url, undefined, shipped, { indexPrefix: 'pbx1-cdr', logsPattern: 'logs-pbx-*' });
    const sent = kbn.received[0]!.parts[0]!.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; attributes: { title: string } });
    const titles = Object.fromEntries(sent.filter((o) => o.type === 'index-pattern').map((o) => [o.id, o.attributes.title]));
    assert.deepEqual(titles, { 'sticky-router-cdr': 'pbx1-cdr-*,-pbx1-cdr-abandons-*,-pbx1-cdr-agent-states', 'sticky-router-abandons': 'pbx1-cdr-abandons-*', 'sticky-router-decisions': 'logs-pbx-*' });
    const original = readFileSync(shipped, 'utf8').trim().split('\n');
    const others = (lines: string[]) => lines.filter((l) => !l.includes('"type":"index-pattern"'));
    assert.deepEqual(others(kbn.received[0]!.parts[0]!.body.trim().split('\n')), others(original));
  } finally {
    await kbn.close();
  }
});

test('PUBLIC_URL points the CDR view\'s recording links at the router\'s play endpoint behind the proxy', async () => {
  const kbn = await fakeKibana(okAnswer);
  try {
    await importKibanaObjects(kbn.url, undefined, shipped, { recordingsUrl: 'https://pbx.example.com/rec/' });
    const sent = kbn.received[0]!.parts[0]!.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: string; attributes: { fieldFormatMap?: string } });
    const cdr = sent.find((o) => o.id === 'sticky-router-cdr')!;
    const format = (JSON.parse(cdr.attributes.fieldFormatMap!) as Record<string, { id: string; params: { urlTemplate: string } }>)['recording.file']!;
    assert.equal(format.id, 'url');
    assert.equal(format.params.urlTemplate, 'https://pbx.example.com/rec/v1/recordings/play?file={{value}}');
    const shippedCdr = readFileSync(shipped, 'utf8').split('\n').find((l) => l.includes('"id":"sticky-router-cdr"'))!;
    assert.match(shippedCdr, /https:\/\/localhost:8443\/v1\/recordings\/play\?file=\{\{value\}\}/, 'as shipped: the compose stack\'s Caddy');
  } finally {
    await kbn.close();
  }
});

test('objects Kibana refuses are named with their error; 401 names the credentials', async () => {
  const kbn = await fakeKibana(() => ({
    status: 200,
    body: {
      success: false,
      successCount: 10,
      errors: [{ type: 'lens', id: 'sticky-router-lens-hit-rate', meta: { title: 'Sticky hit rate' }, error: { type: 'missing_references', references: [{ type: 'index-pattern', id: 'sticky-router-cdr' }] } }],
    },
  }));
  try {
    await assert.rejects(importKibanaObjects(kbn.url, undefined, shipped), (err: unknown) => {
      assert.ok(err instanceof KibanaImportError);
      assert.match(err.message, /imported 10 objects and refused 1/);
      assert.match(err.message, /lens sticky-router-lens-hit-rate \("Sticky hit rate"\): missing_references \(missing index-pattern sticky-router-cdr\)/);
      return true;
    });
  } finally {
    await kbn.close();
  }
  const denied = await fakeKibana(() => ({ status: 401, body: { statusCode: 401, error: 'Unauthorized', message: 'unable to authenticate user' } }));
  try {
    await assert.rejects(importKibanaObjects(denied.url, { username: 'elastic', password: 'wrong' }, shipped), /refused the credentials \(HTTP 401\): unable to authenticate user/);
  } finally {
    await denied.close();
  }
  const broken = await fakeKibana(() => ({ status: 415, body: { message: 'Unsupported Media Type' } }));
  try {
    await assert.rejects(importKibanaObjects(broken.url, undefined, shipped), /answered HTTP 415 to the import: Unsupported Media Type/);
  } finally {
    await broken.close();
  }
});

test('an unreachable Kibana and a missing file give clear errors', async () => {
  const kbn = await fakeKibana(okAnswer);
  const url = kbn.url;
  await kbn.close();
  await assert.rejects(importKibanaObjects(url, undefined, shipped, { timeoutMs: 2000 }), /cannot reach Kibana at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  const dir = mkdtempSync(join(tmpdir(), 'kbn-'));
  await assert.rejects(importKibanaObjects(url, undefined, join(dir, 'nope.ndjson')), /ENOENT/);
});
