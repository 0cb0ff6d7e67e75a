// The operator's HTTP endpoint (HTTP_HOST:HTTP_PORT): probes, Prometheus metrics
// and the lookup API. It knows nothing of ARI, AMI or Elasticsearch: readiness
// comes in as probe functions and the lookup as a function, so it is tested with
// plain fakes and wired by the app.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from '../log.js';
import { checkBearer } from './auth.js';
import { json, type Reply, type Route } from './reply.js';
import { healthRoute } from './routes/health.js';
import { lookupPrefix, lookupRoute } from './routes/lookup.js';
import { metricsRoute, type MetricsSource } from './routes/metrics.js';
import { readyRoute, type ReadinessProbes } from './routes/ready.js';
import { recallsPath, recallsRoute } from './routes/recalls.js';

export type { ReadinessProbes, Probe, ProbeResult } from './routes/ready.js';
export type { MetricsSource } from './routes/metrics.js';

export interface HttpServerOptions {
  /** HTTP_HOST. */
  host: string;
  /** HTTP_PORT; 0 picks a free port (logged, and returned as `port`). */
  port: number;
  /** HTTP_TOKEN: when set, every endpoint but /healthz and /readyz needs `Authorization: Bearer <token>`. */
  token?: string;
  metrics: MetricsSource;
  ready: ReadinessProbes;
  /** The `sticky-router lookup --json` answer for a number as given (normalised by the callee too). */
  lookup: (number: string, did?: string) => Promise<object>;
  /** The recall list for the last `withinMs` (GET /v1/recalls); absent: 404. */
  recalls?: (withinMs: number) => object;
  /** DEFAULT_COUNTRY, to accept national numbers on /v1/lookup. */
  region?: CountryCode;
  log: Logger;
  /** Each readiness probe's budget. Default 2 s. */
  probeTimeoutMs?: number;
  /** /v1/lookup's budget. Default 5 s. */
  lookupTimeoutMs?: number;
  /** More endpoints (recordings), each with its own access rule. */
  extraRoutes?: readonly ExtraRoute[];
}

/** An endpoint a capability adds: `auth` 'open', or a check that returns the refusal to send. */
export interface ExtraRoute {
  match: (path: string) => boolean;
  route: Route;
  auth: 'open' | ((req: IncomingMessage) => Reply | undefined);
  /** Shown in the 404 list. */
  describe: string;
}

export interface HttpServer {
  readonly port: number;
  /** e.g. http://127.0.0.1:8090 */
  readonly url: string;
  close(): Promise<void>;
}

interface Entry {
  match: (path: string) => boolean;
  route: Route;
  /** Probes stay open so an orchestrator needs no secret. */
  open: boolean;
  /** Its own access check instead of HTTP_TOKEN. */
  auth?: (req: IncomingMessage) => Reply | undefined;
}

/** Starts listening; resolves once bound (rejects with a message naming the address when it cannot bind). */
export async function startHttpServer(o: HttpServerOptions): Promise<HttpServer> {
  const routes: Entry[] = [
    { match: (p) => p === '/healthz', route: healthRoute(), open: true },
    { match: (p) => p === '/readyz', route: readyRoute(o.ready, o.probeTimeoutMs ?? 2000), open: true },
    { match: (p) => p === '/metrics', route: metricsRoute(o.metrics), open: false },
    { match: (p) => p.startsWith(lookupPrefix) && p.length > lookupPrefix.length, route: lookupRoute({ lookup: o.lookup, region: o.region, timeoutMs: o.lookupTimeoutMs ?? 5000 }), open: false },
    ...(o.extraRoutes ?? []).map((r) => ({ match: r.match, route: r.route, open: r.auth === 'open', ...(r.auth === 'open' ? {} : { auth: r.auth }) })),
  ];
  if (o.recalls) routes.push({ match: (p) => p === recallsPath, route: recallsRoute(o.recalls), open: false });
  const endpoints = ['/healthz', '/readyz', '/metrics', '/v1/lookup/<number>', ...(o.recalls ? ['/v1/recalls'] : []), ...(o.extraRoutes ?? []).map((r) => r.describe)];
  const log = o.log;

  const server = createServer((req, res) => {
    void handle(req, routes, o.token, endpoints).then(
      (reply) => send(res, req.method === 'HEAD', reply),
      (err: Error) => {
        log.error({ err, path: pathOf(req) }, 'http handler failed');
        send(res, false, json(500, { error: 'internal error' }));
      },
    );
  });
  // Slow or idle clients must not hold sockets forever on a box that carries calls.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  await listen(server, o.host, o.port);
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  log.info({ address: o.host, port, auth: o.token ? 'bearer' : 'none' }, 'http listening');
  return {
    port,
    url: `http://${hostInUrl}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, routes: readonly Entry[], token: string | undefined, endpoints: string[]): Promise<Reply> {
  const path = pathOf(req);
  const entry = routes.find((r) => r.match(path));
  // Authentication before routing: without the token, an unknown path and a known one look alike.
  if (!entry?.open) {
    const denied = entry?.auth ? entry.auth(req) : checkBearer(req.headers, token);
    if (denied) return denied;
  }
  if (!entry) return json(404, { error: `no such endpoint: ${path.slice(0, 100)}`, endpoints });
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: `${req.method} is not allowed; use GET` }, { allow: 'GET, HEAD' });
  return entry.route(req, path);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function send(res: ServerResponse, head: boolean, reply: Reply): void {
  if (res.headersSent) return;
  if (reply.stream) {
    const stream = reply.stream;
    res.writeHead(reply.status, reply.headers);
    if (head) {
      stream.destroy();
      res.end();
      return;
    }
    // A client that goes away mid-file must not leave the file open.
    res.once('close', () => stream.destroy());
    stream.once('error', () => res.destroy());
    stream.pipe(res);
    return;
  }
  const isText = typeof reply.body === 'string';
  const body = isText ? (reply.body as string) : `${JSON.stringify(reply.body)}\n`;
  res.writeHead(reply.status, {
    'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...reply.headers,
    'content-length': Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EADDRNOTAVAIL' ? 'no such local address' : err.message;
      reject(new Error(`cannot listen on HTTP_HOST=${host} HTTP_PORT=${port}: ${why}`, { cause: err }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
