// A TCP proxy between a client under test and a server, for fault injection and
// for recording what the client writes:
//   - every byte the client sends is kept per connection (e.g. the AMI actions the
//     router writes, or the HTTP requests it makes), with the time it arrived;
//   - blackhole(true) stops forwarding in both directions WITHOUT closing anything,
//     as a firewall DROP rule would: bytes are held back (TCP would retransmit them),
//     a client that opens a new connection meanwhile gets an accepted socket that
//     stays silent (its SYN "retransmits" until the hole closes). blackhole(false)
//     delivers what was held on connections both ends still have open, and connects
//     the waiting ones. A side that closes during the hole is closed on the other
//     side only when the hole closes (the FIN was dropped too).
// Portable: no iptables/nft, no root. One instance per upstream.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TapChunk {
  at: number;
  data: Buffer;
}

export interface TapConnection {
  id: number;
  openedAt: number;
  closedAt?: number;
  /** Client → upstream bytes, as the client wrote them (held ones included). */
  fromClient: TapChunk[];
  /** Upstream → client bytes received by the tap. */
  fromUpstream: TapChunk[];
  /** Bytes dropped (never delivered) because a side was gone when the hole closed. */
  droppedBytes: number;
}

export interface TcpTap {
  readonly port: number;
  readonly connections: TapConnection[];
  /** Starts or ends a blackhole; returns when the state is applied. */
  blackhole(on: boolean): void;
  readonly blackholed: boolean;
  /** Everything one connection's client wrote, as text. */
  clientText(c: TapConnection): string;
  close(): Promise<void>;
}

interface Pair {
  meta: TapConnection;
  client: Socket;
  upstream: Socket | undefined;
  heldToUpstream: Buffer[];
  heldToClient: Buffer[];
  clientEnded: boolean;
  upstreamEnded: boolean;
}

export async function startTcpTap(upstreamPort: number, upstreamHost = '127.0.0.1', opts: { keepFromUpstream?: boolean } = {}): Promise<TcpTap> {
  const pairs = new Set<Pair>();
  const connections: TapConnection[] = [];
  let hole = false;
  let nextId = 1;

  const closeBoth = (p: Pair) => {
    p.client.destroy();
    p.upstream?.destroy();
    p.meta.closedAt ??= Date.now();
    pairs.delete(p);
  };

  const attachUpstream = (p: Pair) => {
    const up = connect({ port: upstreamPort, host: upstreamHost });
    p.upstream = up;
    up.on('connect', () => {
      if (!hole) for (const b of p.heldToUpstream.splice(0)) up.write(b);
      if (p.clientEnded) closeBoth(p);
    });
    up.on('data', (d: Buffer) => {
      if (opts.keepFromUpstream) p.meta.fromUpstream.push({ at: Date.now(), data: d });
      if (hole) p.heldToClient.push(d);
      else p.client.write(d);
    });
    const upGone = () => {
      p.upstreamEnded = true;
      if (!hole) closeBoth(p);
    };
    up.on('end', upGone);
    up.on('close', upGone);
    up.on('error', upGone);
  };

  const server: Server = createServer((client) => {
    const meta: TapConnection = { id: nextId++, openedAt: Date.now(), fromClient: [], fromUpstream: [], droppedBytes: 0 };
    connections.push(meta);
    const p: Pair = { meta, client, upstream: undefined, heldToUpstream: [], heldToClient: [], clientEnded: false, upstreamEnded: false };
    pairs.add(p);
    client.on('data', (d: Buffer) => {
      meta.fromClient.push({ at: Date.now(), data: d });
      if (hole || !p.upstream || p.upstream.connecting) p.heldToUpstream.push(d);
      else p.upstream.write(d);
    });
    const clientGone = () => {
      p.clientEnded = true;
      if (!hole) closeBoth(p);
    };
    client.on('end', clientGone);
    client.on('close', clientGone);
    client.on('error', clientGone);
    // In a blackhole a new connection's SYN never reaches the server: connect later.
    if (!hole) attachUpstream(p);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    connections,
    get blackholed() {
      return hole;
    },
    blackhole(on: boolean) {
      if (on === hole) return;
      hole = on;
      if (on) return;
      for (const p of [...pairs]) {
        if (p.clientEnded || p.upstreamEnded) {
          // The FIN (or RST) that the hole swallowed arrives now; held bytes have nowhere to go.
          p.meta.droppedBytes += [...p.heldToUpstream, ...p.heldToClient].reduce((n, b) => n + b.length, 0);
          closeBoth(p);
          continue;
        }
        if (!p.upstream) {
          attachUpstream(p);
          continue;
        }
        for (const b of p.heldToClient.splice(0)) p.client.write(b);
        if (!p.upstream.connecting) for (const b of p.heldToUpstream.splice(0)) p.upstream.write(b);
      }
    },
    clientText: (c) => Buffer.concat(c.fromClient.map((x) => x.data)).toString('utf8'),
    async close() {
      for (const p of [...pairs]) closeBoth(p);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
