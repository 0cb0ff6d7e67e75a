// The call path's ARI requests (src/ari/rest.ts) against a local HTTP server that
// answers as Asterisk does, and the session's direct event delivery (src/ari/session.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from 'ari-client';
import { AriRequestError, AriRest } from '../../src/ari/rest.js';
import { AriSession } from '../../src/ari/session.js';

async function fakeAsterisk(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: { method: string; url: string; auth: string | undefined; socket: number }[] = [];
  const sockets = new Map<object, number>();
  const server = createServer((req, res) => {
    if (!sockets.has(req.socket)) sockets.set(req.socket, sockets.size + 1);
    seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, socket: sockets.get(req.socket)! });
    handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, server, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('continue, variable and ring are POSTs to ARI with the query Asterisk expects, over one kept-alive socket', async () => {
  const ast = await fakeAsterisk((_req, res) => {
    res.statusCode = 204;
    res.end();
  });
  const rest = new AriRest({ url: `${ast.url}/`, username: 'sticky', password: 'p@ss' });
  try {
    await rest.setChannelVar({ channelId: '1700000000.1', variable: 'STICKY_DIAL', value: 'Local/1002@from-queue/n' });
    await rest.continueInDialplan({ channelId: '1700000000.1', context: 'sticky-ring', extension: '1002~20~~', priority: 1 });
    await rest.ring({ channelId: '1700000000.1' });
    assert.deepEqual(
      ast.seen.map((s) => `${s.method} ${s.url}`),
      [
        'POST /ari/channels/1700000000.1/variable?variable=STICKY_DIAL&value=Local%2F1002%40from-queue%2Fn',
        'POST /ari/channels/1700000000.1/continue?context=sticky-ring&extension=1002%7E20%7E%7E&priority=1',
        'POST /ari/channels/1700000000.1/ring',
      ],
    );
    assert.ok(ast.seen.every((s) => s.auth === `Basic ${Buffer.from('sticky:p@ss').toString('base64')}`));
    assert.deepEqual(new Set(ast.seen.map((s) => s.socket)), new Set([1]), 'one connection for all three');
  } finally {
    rest.close();
    await ast.close();
  }
});

test("an ARI error answer rejects with the status and Asterisk's message", async () => {
  const ast = await fakeAsterisk((_req, res) => {
    res.statusCode = 404;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ message: 'Channel not found' }));
  });
  const rest = new AriRest({ url: ast.url, username: 'u', password: 'p' });
  try {
    await assert.rejects(rest.continueInDialplan({ channelId: 'gone', context: 'c', extension: 'e', priority: 1 }), (err: unknown) => {
      assert.ok(err instanceof AriRequestError);
      assert.equal(err.status, 404);
      assert.match(err.message, /HTTP 404 \(Channel not found\)/);
      return true;
    });
  } finally {
    rest.close();
    await ast.close();
  }
});

test('a request to an ARI that never answers fails within its timeout; a refused connection fails at once', async () => {
  const ast = await fakeAsterisk(() => undefined); // holds every request
  const slow = new AriRest({ url: ast.url, username: 'u', password: 'p', timeoutMs: 150 });
  try {
    const t0 = Date.now();
    await assert.rejects(slow.ring({ channelId: 'x' }), /no answer within 150 ms/);
    assert.ok(Date.now() - t0 < 2000);
  } finally {
    slow.close();
    ast.server.closeAllConnections();
    await ast.close();
  }
  const dead = new AriRest({ url: ast.url, username: 'u', password: 'p' });
  await assert.rejects(dead.ring({ channelId: 'x' }), /ECONNREFUSED/);
  dead.close();
});

test('a kept-alive socket the server closed is replaced: the next request still arrives once', async () => {
  const ast = await fakeAsterisk((_req, res) => {
    res.statusCode = 204;
    res.end();
  });
  const rest = new AriRest({ url: ast.url, username: 'u', password: 'p' });
  try {
    await rest.ring({ channelId: 'a' });
    ast.server.closeIdleConnections(); // as Asterisk does after session_keep_alive
    await new Promise((r) => setTimeout(r, 50));
    await rest.ring({ channelId: 'b' });
    assert.deepEqual(ast.seen.map((s) => s.url), ['/ari/channels/a/ring', '/ari/channels/b/ring']);
  } finally {
    rest.close();
    await ast.close();
  }
});

test('the session delivers the events the router reads as plain frames, and nothing else', () => {
  const fakeClient = { applications: {}, endpoints: {}, channels: {} } as unknown as Client;
  const session = new AriSession(fakeClient, new AriRest({ url: 'http://127.0.0.1:9', username: 'u', password: 'p' }));
  const got: unknown[][] = [];
  session.on('StasisStart', (...args: unknown[]) => got.push(args));
  const channel = { id: '1.1', caller: { number: '+15551230000' } };
  assert.equal(session.dispatch({ type: 'StasisStart', args: ['100'], channel }, 12.5), true);
  assert.equal(session.dispatch({ type: 'ChannelVarset', channel, variable: 'X' }, 13), false, 'left to ari-client');
  assert.deepEqual(got, [[{ type: 'StasisStart', args: ['100'], channel }, channel, 12.5]]);
  assert.throws(() => session.on('ChannelVarset', () => undefined), /not delivered to the router/);
  session.close();
  session.dispatch({ type: 'StasisStart', args: [], channel }, 14);
  assert.equal(got.length, 1, 'no listener after close');
});
