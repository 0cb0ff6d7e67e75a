// The AMI keepalive never discards data: a router whose event loop was blocked for
// longer than the keepalive timeout keeps a socket that holds unread events (and
// reads every one of them, in order); a socket that is really silent is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import { AmiConnection } from '../../src/ami/connection.js';

/** A minimal AMI: banner, Login, Ping; `silent` stops answering anything. */
async function fakeAmi() {
  const sockets: Socket[] = [];
  let silent = false;
  const server = createServer((s) => {
    sockets.push(s);
    s.write('Asterisk Call Manager/9.0.0\r\n');
    let buf = '';
    s.on('data', (c) => {
      buf += c.toString();
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const msg = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const id = /ActionID: (.*)/i.exec(msg)?.[1] ?? '';
        if (silent) continue;
        if (/Action: Login/i.test(msg)) s.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`);
        else if (/Action: Ping/i.test(msg)) s.write(`Response: Success\r\nActionID: ${id}\r\nPing: Pong\r\nTimestamp: 1.0\r\n\r\n`);
        else s.write(`Response: Success\r\nActionID: ${id}\r\n\r\n`);
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    sockets,
    setSilent: (v: boolean) => (silent = v),
    send: (fields: string) => sockets.at(-1)!.write(`${fields}\r\n\r\n`),
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

function logLines() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }) };
}

test('an event loop blocked past the keepalive timeout does not drop a socket holding unread events; every event is read, in order', async () => {
  const ami = await fakeAmi();
  const { lines, log } = logLines();
  const conn = new AmiConnection({ host: '127.0.0.1', port: ami.port, username: 'u', password: 'p', keepaliveMs: 200, keepaliveTimeoutMs: 300 }, log);
  const seen: number[] = [];
  conn.on('event', (e) => seen.push(Number(e.Seq)));
  await conn.start();
  // Events keep arriving while the router's loop is busy for 1.5 s (5× the timeout).
  let seq = 0;
  const feeder = setInterval(() => ami.send(`Event: Cdr\r\nSeq: ${seq++}`), 20);
  await new Promise((r) => setTimeout(r, 300));
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    // busy: a long synchronous task
  }
  await new Promise((r) => setTimeout(r, 800));
  clearInterval(feeder);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(lines.filter((l) => l.msg === 'ami keepalive failed; dropping the socket').length, 0, 'no teardown');
  assert.equal(conn.connected, true);
  assert.equal(ami.sockets.length, 1, 'no reconnect');
  assert.deepEqual(seen, Array.from({ length: seq }, (_, i) => i), 'every event sent was received, in order');
  await conn.stop();
  await ami.close();
});

test('a socket that delivers nothing after a Ping (blackholed) is still dropped and replaced', async () => {
  const ami = await fakeAmi();
  const { lines, log } = logLines();
  const conn = new AmiConnection({ host: '127.0.0.1', port: ami.port, username: 'u', password: 'p', keepaliveMs: 200, keepaliveTimeoutMs: 300 }, log);
  await conn.start();
  ami.setSilent(true);
  const deadline = Date.now() + 3000;
  while (!lines.some((l) => l.msg === 'ami keepalive failed; dropping the socket') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(lines.some((l) => l.msg === 'ami keepalive failed; dropping the socket'), 'dead socket noticed');
  ami.setSilent(false);
  while (ami.sockets.length < 2 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 50));
  assert.ok(ami.sockets.length >= 2, 'reconnected on a new socket');
  assert.ok(typeof conn.lastDataAt === 'number');
  await conn.stop();
  await ami.close();
});
