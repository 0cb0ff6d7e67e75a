// Wire-level Elasticsearch 8 test double: a node:http server the real
// @elastic/elasticsearch client talks to over loopback. This file owns the
// HTTP lifecycle (latency / outage injection, request log); routes.ts maps
// endpoints to the API modules.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { applyFilterPath } from './filter-path.js';
import { Contexts } from './contexts.js';
import { EsError } from './errors.js';
import { resolveIndices } from './index-expr.js';
import { RankCache } from './ranking.js';
import { readRequest, type EsResponse } from './request.js';
import type { Router } from './router.js';
import { buildRouter } from './routes.js';
import { Store } from './store.js';
import type { JsonObject } from './util.js';

export interface EsDoubleOptions {
  /** Fixed port; default is an ephemeral one. */
  port?: number;
  /** Address to listen on; default 127.0.0.1 (a router in another network namespace needs the veth's). */
  host?: string;
  /** Delay applied to every response (after the request has been processed). */
  latencyMs?: number;
  /**
   * ES 8 rejects `DELETE /pattern*` (action.destructive_requires_name=true);
   * the double does too unless this is set.
   */
  allowWildcardDelete?: boolean;
}

export interface LoggedRequest {
  method: string;
  /** Path without the query string, as sent (URL-encoded). */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body; for _bulk an array of the parsed NDJSON lines; undefined if none/unparseable. */
  body: unknown;
}

export interface StoredDocView {
  index: string;
  id: string;
  source: JsonObject;
  version: number;
}

export interface EsDouble {
  readonly url: string;
  /** Every request received, oldest first (cleared by reset()). */
  readonly requests: LoggedRequest[];
  /** Delays every response by `ms` (simulates a slow cluster). */
  setLatency(ms: number): void;
  /** Down = listener closed and open sockets destroyed, so connects are refused; up = listening again on the same port. */
  setDown(down: boolean): Promise<void>;
  /** Stored docs of the indices matching an index expression (default: all), in index then write order. */
  docs(indexPattern?: string): StoredDocView[];
  indexNames(): string[];
  /** Drops indices, templates, PIT/scroll contexts and the request log; latency goes back to its initial value. */
  reset(): void;
  close(): Promise<void>;
}

const HEADERS = { 'x-elastic-product': 'Elasticsearch', 'content-type': 'application/json' } as const;

class EsDoubleServer implements EsDouble {
  readonly requests: LoggedRequest[] = [];
  private readonly store: Store;
  private readonly contexts = new Contexts();
  private readonly cache = new RankCache();
  private readonly router: Router;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private latency: number;
  private port = 0;
  private closed = false;

  constructor(private readonly opts: EsDoubleOptions) {
    this.latency = opts.latencyMs ?? 0;
    this.store = new Store({ allowWildcardDelete: opts.allowWildcardDelete ?? false });
    this.router = buildRouter({ store: this.store, contexts: this.contexts, cache: this.cache });
  }

  get url(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.port}`;
  }

  async listen(port: number): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr !== null && typeof addr === 'object') this.port = addr.port;
    this.server = server;
  }

  private async stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Keep-alive sockets would otherwise keep serving the client after close().
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  setLatency(ms: number): void {
    this.latency = Math.max(0, ms);
  }

  async setDown(down: boolean): Promise<void> {
    if (this.closed) throw new Error('es-double is closed');
    if (down && this.server) await this.stopListening();
    else if (!down && !this.server) await this.listen(this.port);
  }

  docs(indexPattern?: string): StoredDocView[] {
    const names = resolveIndices(indexPattern, this.store.indices.keys(), { ignoreUnavailable: true, allowNoIndices: true });
    return names.flatMap((name) =>
      [...this.store.require(name).docs.values()].map((d) => ({ index: name, id: d.id, source: d.source, version: d.version })),
    );
  }

  indexNames(): string[] {
    return [...this.store.indices.keys()].sort();
  }

  reset(): void {
    this.store.reset();
    this.contexts.clear();
    this.cache.clear();
    this.requests.length = 0;
    this.latency = this.opts.latencyMs ?? 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopListening();
    this.reset();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const entry: LoggedRequest = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] ?? '/', query: {}, body: undefined };
    this.requests.push(entry);
    let response: EsResponse;
    try {
      const esReq = await readRequest(req);
      entry.query = Object.fromEntries(esReq.qs);
      entry.body = esReq.body;
      response = this.router.dispatch(esReq);
      const filterPath = esReq.qs.get('filter_path');
      if (filterPath !== null && response.status < 300 && response.body !== undefined) {
        response = { status: response.status, body: applyFilterPath(response.body, filterPath) };
      }
    } catch (e) {
      response = toErrorResponse(e);
    }
    this.send(req, res, response);
  }

  private send(req: IncomingMessage, res: ServerResponse, response: EsResponse): void {
    const payload = req.method === 'HEAD' || response.body === undefined ? '' : JSON.stringify(response.body);
    const write = (): void => {
      if (res.destroyed || res.writableEnded) return;
      res.writeHead(response.status, { ...HEADERS, 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    if (this.latency <= 0) return write();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      write();
    }, this.latency);
    this.timers.add(timer);
  }
}

function toErrorResponse(e: unknown): EsResponse {
  if (e instanceof EsError) return { status: e.status, body: e.body() };
  // A bug in the double: still answer in ES shape rather than hanging the client.
  const reason = e instanceof Error ? (e.stack ?? e.message) : String(e);
  return { status: 500, body: new EsError(500, 'exception', `[es-double] internal error: ${reason}`).body() };
}

export async function startEsDouble(opts: EsDoubleOptions = {}): Promise<EsDouble> {
  const double = new EsDoubleServer(opts);
  await double.listen(opts.port ?? 0);
  return double;
}
