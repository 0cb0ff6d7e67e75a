// The one local HTTP receiver of the tests: it records every request (the exact bytes
// of the body, as UTF-8, and when it arrived) and answers as `reply` says, by default
// 200 `{"ok":true}`. Binds 127.0.0.1; inside the harness's network namespace that
// loopback is private.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  /** Path and query as received (Telegram's carries the bot token). */
  url: string;
  headers: IncomingMessage['headers'];
  /** The exact bytes received, as UTF-8: what a webhook signature is computed over. */
  body: string;
  /** When this process finished reading the request (epoch ms). */
  at: number;
}

export type Reply = (req: ReceivedRequest, res: ServerResponse) => void;

export interface HttpReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  server: Server;
  close(): Promise<void>;
}

const okJson: Reply = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
};

/** An HTTP receiver on 127.0.0.1:port (0 = any free port). */
export async function startHttpReceiver(reply: Reply = okJson, port = 0): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(r);
      reply(r, res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    requests,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP port nothing listens on (yet): connections are refused until a receiver starts there. */
export async function unusedPort(): Promise<number> {
  const r = await startHttpReceiver();
  await r.close();
  return r.port;
}
