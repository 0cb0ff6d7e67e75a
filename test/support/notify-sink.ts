// One local HTTP receiver for every abandon notifier the router can be given
// (signed webhook, Slack incoming webhook, Telegram Bot API), so a test can turn
// them all on with real secrets and see what arrives. `failFirst` makes the first
// requests of a channel fail the way real receivers do, which exercises the
// notifiers' error paths (and what they log).
import { createServer, type Server } from 'node:http';

export type SinkChannel = 'webhook' | 'slack' | 'telegram' | 'other';

export interface SinkRequest {
  at: number;
  channel: SinkChannel;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number;
}

export interface SinkFailure {
  status: number;
  /** Response body; `{path}` is replaced by the request path (as Express' default 404 page does). */
  body: string;
}

export interface NotifySink {
  readonly url: string;
  readonly requests: SinkRequest[];
  close(): Promise<void>;
}

export async function startNotifySink(opts: { failFirst?: Partial<Record<SinkChannel, SinkFailure[]>> } = {}): Promise<NotifySink> {
  const requests: SinkRequest[] = [];
  const failures = new Map<SinkChannel, SinkFailure[]>(Object.entries(opts.failFirst ?? {}).map(([k, v]) => [k as SinkChannel, [...(v ?? [])]]));
  const channelOf = (path: string): SinkChannel =>
    path.startsWith('/webhook') ? 'webhook' : path.startsWith('/services/') ? 'slack' : /^\/bot[^/]+\/sendMessage$/.test(path) ? 'telegram' : 'other';

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const channel = channelOf(path);
      const fail = failures.get(channel)?.shift();
      let status = 200;
      let body = channel === 'telegram' ? '{"ok":true,"result":{}}' : channel === 'slack' ? 'ok' : '{}';
      if (fail) {
        status = fail.status;
        body = fail.body.split('{path}').join(path);
      } else if (channel === 'other') {
        status = 404;
        body = `Cannot ${req.method} ${path}`;
      }
      requests.push({ at: Date.now(), channel, method: req.method ?? '', path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status, { 'content-type': body.startsWith('{') ? 'application/json' : 'text/plain' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
