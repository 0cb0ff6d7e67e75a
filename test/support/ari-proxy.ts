// A fault-injecting proxy between the router and Asterisk's real ARI: HTTP is
// forwarded as is, the events WebSocket is relayed frame by frame. Tests can inject
// frames Asterisk would never send, or make the socket go silent without closing
// (a dead peer that still holds the TCP connection).
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { type WebSocketServer } from 'ws';

// ari-client pins ws 6, whose server is WebSocket.Server; @types/ws describes ws 8.
const WsServer = (WebSocket as unknown as { Server: typeof WebSocketServer }).Server;

export interface AriProxy {
  url: string;
  /** Sends a raw text frame to every connected router socket. */
  inject(frame: string): void;
  /** Stops reading from the router's sockets (so its pings go unanswered) and relaying events. */
  blackhole(): void;
  connections: number;
  close(): Promise<void>;
}

export async function startAriProxy(target: string): Promise<AriProxy> {
  const upstream = new URL(target);
  const wss = new WsServer({ noServer: true });
  const clients = new Set<WebSocket>();
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const fwd = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const up = new WebSocket(`ws://${upstream.host}${req.url}`);
    up.on('error', () => socket.destroy());
    up.on('open', () =>
      wss.handleUpgrade(req, socket, head, (client: WebSocket) => {
        connections++;
        clients.add(client);
        up.on('message', (data: WebSocket.Data) => client.readyState === WebSocket.OPEN && !(client as unknown as { silenced?: boolean }).silenced && client.send(data));
        up.on('close', () => client.close());
        client.on('message', (data: WebSocket.Data) => up.readyState === WebSocket.OPEN && up.send(data));
        client.on('close', () => {
          clients.delete(client);
          up.close();
        });
        client.on('error', () => up.close());
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    inject(frame) {
      for (const c of clients) c.send(frame);
    },
    blackhole() {
      for (const c of clients) {
        (c as unknown as { silenced?: boolean }).silenced = true;
        // Not reading the socket means the router's pings are never answered.
        (c as unknown as { _socket: Socket })._socket.pause();
      }
    },
    async close() {
      for (const c of clients) c.terminate();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
