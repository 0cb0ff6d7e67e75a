import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { createLogger } from '../../src/log.js';
import { startHttpServer, type HttpServerOptions } from '../../src/http/server.js';
import { Metrics } from '../../src/metrics.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info', redactNumbers: false, destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { log, lines };
}

async function start(over: Partial<HttpServerOptions> = {}) {
  const { log, lines } = capture();
  const metrics = new Metrics({ defaultMetrics: false, journalBacklog: () => 7, callsInProgress: () => 2 });
  const looked: string[] = [];
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    ready: { ari: () => true, ami: () => true },
    lookup: async (n) => {
      looked.push(n);
      return { number: n, e164: '+12025550100', agent: '1002', source: 'memory' };
    },
    log,
    ...over,
  });
  return { server, lines, metrics, looked };
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(url, { headers, method });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text && res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined };
}

test('port 0 binds a free port and logs the actual one', async () => {
  const { server, lines } = await start();
  try {
    assert.ok(server.port > 0);
    const line = lines.find((l) => l.msg === 'http listening');
    assert.ok(line, 'an "http listening" line');
    assert.equal(line.port, server.port);
    assert.equal((await get(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.close();
  }
});

test('a taken port fails with a message naming HTTP_HOST and HTTP_PORT', async () => {
  const { server } = await start();
  try {
    await assert.rejects(start({ port: server.port }), /cannot listen on HTTP_HOST=127\.0\.0\.1 HTTP_PORT=\d+: the port is in use/);
  } finally {
    await server.close();
  }
});

test('/healthz answers 200 even when nothing is ready', async () => {
  const { server } = await start({ ready: { ari: () => false, ami: () => false, elasticsearch: () => false } });
  try {
    const r = await get(`${server.url}/healthz`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
  } finally {
    await server.close();
  }
});

test('/readyz: 200 when ARI, AMI and Elasticsearch are up', async () => {
  const { server } = await start({ ready: { ari: () => true, ami: async () => true, elasticsearch: async () => ({ ok: true }) } });
  try {
    const r = await get(`${server.url}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ready');
  } finally {
    await server.close();
  }
});

test('/readyz: journal-only mode (no Elasticsearch probe) is ready', async () => {
  const { server } = await start();
  try {
    const r = await get(`${server.url}/readyz`);
    assert.equal(r.status, 200);
    assert.match(r.body.checks.elasticsearch.detail, /journal-only/);
  } finally {
    await server.close();
  }
});

test('/readyz: 503 names each part that is not ready, with its detail', async () => {
  const cases: [HttpServerOptions['ready'], string[]][] = [
    [{ ari: () => false, ami: () => true }, ['ari']],
    [{ ari: () => true, ami: () => ({ ok: false, detail: 'reconnecting, attempt 3' }) }, ['ami']],
    [{ ari: () => true, ami: () => true, elasticsearch: () => Promise.reject(new Error('connect ECONNREFUSED')) }, ['elasticsearch']],
    [{ ari: () => new Promise(() => undefined), ami: () => { throw new Error('boom'); } }, ['ari', 'ami']],
  ];
  for (const [ready, expected] of cases) {
    const { server } = await start({ ready, probeTimeoutMs: 100 });
    try {
      const r = await get(`${server.url}/readyz`);
      assert.equal(r.status, 503);
      assert.deepEqual(r.body.notReady, expected);
      for (const name of expected) assert.equal(r.body.checks[name].ok, false);
    } finally {
      await server.close();
    }
  }
  const { server } = await start({ ready: { ari: () => new Promise(() => undefined), ami: () => true }, probeTimeoutMs: 50 });
  try {
    const r = await get(`${server.url}/readyz`);
    assert.match(r.body.checks.ari.detail, /no answer within 50 ms/);
  } finally {
    await server.close();
  }
});

test('/metrics serves the Prometheus text format with our series', async () => {
  const { server, metrics } = await start();
  try {
    metrics.decision('sticky_agent');
    const r = await get(`${server.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(r.text, /^sticky_decisions_total\{reason="sticky_agent"\} 1$/m);
    assert.match(r.text, /^sticky_journal_backlog 7$/m);
    assert.match(r.text, /^sticky_calls_in_progress 2$/m);
  } finally {
    await server.close();
  }
});

test('/v1/lookup/<number> returns the injected lookup answer as JSON', async () => {
  const { server, looked } = await start();
  try {
    const r = await get(`${server.url}/v1/lookup/%2B12025550100`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { number: '+12025550100', e164: '+12025550100', agent: '1002', source: 'memory' });
    const plain = await get(`${server.url}/v1/lookup/+12025550100`);
    assert.equal(plain.status, 200);
    assert.deepEqual(looked, ['+12025550100', '+12025550100']);
  } finally {
    await server.close();
  }
});

test('/v1/lookup: garbage gets a 400 naming the value and what was expected; the lookup is not called', async () => {
  const { server, looked } = await start();
  try {
    for (const bad of ['abc', '%27%20OR%201%3D1', '12', '%E0%A4%A', 'anonymous']) {
      const r = await get(`${server.url}/v1/lookup/${bad}`);
      assert.equal(r.status, 400, bad);
      assert.match(r.body.error, /not a phone number: expected E\.164|not valid percent-encoding/, bad);
    }
    const national = await get(`${server.url}/v1/lookup/0961234567`);
    assert.equal(national.status, 400);
    assert.match(national.body.error, /set DEFAULT_COUNTRY/);
    assert.deepEqual(looked, []);
  } finally {
    await server.close();
  }
});

test('/v1/lookup: national numbers pass with a region; a failing or hung lookup is 500 / 504', async () => {
  const a = await start({ region: 'US' });
  try {
    assert.equal((await get(`${a.server.url}/v1/lookup/(202)%20555-0100`)).status, 200);
    assert.deepEqual(a.looked, ['(202) 555-0100']);
  } finally {
    await a.server.close();
  }
  const b = await start({ lookup: () => Promise.reject(new Error('journal closed')) });
  try {
    const r = await get(`${b.server.url}/v1/lookup/+12025550100`);
    assert.equal(r.status, 500);
    assert.match(r.body.error, /lookup failed: journal closed/);
  } finally {
    await b.server.close();
  }
  const c = await start({ lookup: () => new Promise(() => undefined), lookupTimeoutMs: 50 });
  try {
    const r = await get(`${c.server.url}/v1/lookup/+12025550100`);
    assert.equal(r.status, 504);
  } finally {
    await c.server.close();
  }
});

test('HTTP_TOKEN: /metrics and /v1/lookup need the bearer token; the probes do not', async () => {
  const { server } = await start({ token: 's3cret-token' });
  try {
    for (const path of ['/metrics', '/v1/lookup/+12025550100', '/nope']) {
      const none = await get(`${server.url}${path}`);
      assert.equal(none.status, 401, path);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="sticky-router"$/);
      const wrong = await get(`${server.url}${path}`, { authorization: 'Bearer s3cret-tokeN' });
      assert.equal(wrong.status, 401, path);
      assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      const shorter = await get(`${server.url}${path}`, { authorization: 'Bearer s3cret' });
      assert.equal(shorter.status, 401, path);
      const basic = await get(`${server.url}${path}`, { authorization: `Basic ${Buffer.from('u:s3cret-token').toString('base64')}` });
      assert.equal(basic.status, 401, path);
    }
    assert.equal((await get(`${server.url}/metrics`, { authorization: 'Bearer s3cret-token' })).status, 200);
    assert.equal((await get(`${server.url}/v1/lookup/+12025550100`, { authorization: 'bearer s3cret-token' })).status, 200);
    assert.equal((await get(`${server.url}/nope`, { authorization: 'Bearer s3cret-token' })).status, 404);
    assert.equal((await get(`${server.url}/healthz`)).status, 200);
    assert.equal((await get(`${server.url}/readyz`)).status, 200);
  } finally {
    await server.close();
  }
});

test('unknown paths are 404, other methods 405, HEAD has no body', async () => {
  const { server } = await start();
  try {
    assert.equal((await get(`${server.url}/`)).status, 404);
    assert.equal((await get(`${server.url}/v1/lookup/`)).status, 404);
    const post = await get(`${server.url}/metrics`, {}, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await get(`${server.url}/healthz`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
  } finally {
    await server.close();
  }
});

test('close() returns even with a keep-alive connection open', async () => {
  const { server } = await start();
  await new Promise<void>((resolve, reject) => {
    const req = request(`${server.url}/healthz`, { agent: new Agent({ keepAlive: true }) }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  await server.close();
});
