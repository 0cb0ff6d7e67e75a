// Keeps one ARI application registered for as long as the process runs: probe the
// credentials, build a client, start the app, watch the socket with ping/pong, and
// on any loss throw the client away and build a new one (which also reloads the API
// description after an Asterisk upgrade). Never lets a library error end the process.
import { EventEmitter } from 'node:events';
import ari, { type Client } from 'ari-client';
import type WebSocket from 'ws';
import type { Logger } from '../log.js';
import { backoffDelay, sleep } from '../backoff.js';
import { guardClientSocket } from './guarded-socket.js';
import { probeAri } from './probe.js';
import { AriRest } from './rest.js';
import { AriSession } from './session.js';

export interface AriOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  pingEveryMs?: number;
  pongTimeoutMs?: number;
  /** Cap for the reconnect backoff: small, so the router is back within seconds of Asterisk. */
  maxBackoffMs?: number;
}

export class AriAuthError extends Error {}

// swagger-client (under ari-client) assigns an implicit global `log` that prints to
// stdout with console.log and keeps every message forever; stdout carries our JSON
// log lines, so route it to pino at debug level instead.
function quietSwaggerLog(log: Logger): void {
  const g = globalThis as { log?: unknown };
  if (typeof g.log === 'function') g.log = (...args: unknown[]) => log.debug({ swagger: args.map(String) }, 'swagger-client');
}

interface AriConnectionEvents {
  /** A fresh session whose app is registered: attach per-session event handlers here. */
  ready: [session: AriSession];
  lost: [reason: string];
}

export class AriConnection extends EventEmitter<AriConnectionEvents> {
  private stopped = new AbortController();
  private current: { client: Client; ws?: WebSocket } | undefined;
  /** The call path's requests; one keep-alive agent for the process's life. */
  private readonly rest: AriRest;
  reconnects = 0;
  rejectedFrames = 0;

  constructor(private readonly opts: AriOptions, private readonly log: Logger) {
    super();
    this.rest = new AriRest({ url: opts.url, username: opts.username, password: opts.password });
  }

  get client(): Client | undefined {
    return this.current?.client;
  }

  get ready(): boolean {
    return this.current !== undefined;
  }

  /** Resolves once the app is registered. Rejects at once on bad credentials. */
  async start(): Promise<void> {
    const first = await probeAri(this.opts.url, this.opts.username, this.opts.password);
    if (!first.ok && first.auth) throw new AriAuthError(first.message);
    await new Promise<void>((resolve) => {
      this.once('ready', () => resolve());
      void this.superviseForever();
    });
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.rest.close();
    const c = this.current;
    this.current = undefined;
    if (c) {
      try {
        c.client.stop();
      } catch {
        /* already closed */
      }
    }
  }

  private async superviseForever(): Promise<void> {
    let attempt = 0;
    let everConnected = false;
    while (!this.stopped.signal.aborted) {
      const lost = await this.runOneClient().catch((err: Error) => err.message);
      if (this.stopped.signal.aborted) return;
      if (lost === 'connected-then-lost') {
        everConnected = true;
        attempt = 0;
        continue;
      }
      const delay = backoffDelay(attempt++, 100, this.opts.maxBackoffMs ?? 2000);
      this.log[everConnected || attempt > 1 ? 'warn' : 'info']({ reason: lost, retryInMs: delay }, 'ari not connected; retrying');
      await sleep(delay, this.stopped.signal);
    }
  }

  /** One client's life. Resolves 'connected-then-lost' after a session ends, or a reason it never started. */
  private async runOneClient(): Promise<string> {
    const probe = await probeAri(this.opts.url, this.opts.username, this.opts.password);
    if (!probe.ok) {
      if (probe.auth) this.log.error({ reason: probe.message }, 'ari credentials rejected');
      return probe.message;
    }
    quietSwaggerLog(this.log);
    const client = await ari.connect(this.opts.url, this.opts.username, this.opts.password);
    let closed!: (reason: string) => void;
    const closedP = new Promise<string>((r) => (closed = r));
    let lastPong = Date.now();
    let ws: WebSocket | undefined;
    const session = new AriSession(client, this.rest);
    const known = new Set(Object.keys((client as unknown as { _swagger: { apis: { events: { models: object } } } })._swagger.apis.events.models));
    guardClientSocket(client, {
      knownEventTypes: () => known,
      onRejectedFrame: (reason, sample) => {
        this.rejectedFrames++;
        this.log.warn({ reason, sample }, 'ari frame ignored');
      },
      onOpen: (s) => (ws = s),
      onClosed: (reason) => closed(reason),
      onPong: () => (lastPong = Date.now()),
      direct: (frame, receivedAt) => session.dispatch(frame, receivedAt),
    });
    // ari-client's operations return Bluebird promises; log instead of "Unhandled rejection".
    client.on('APILoadError', (err: Error) => closed(`api load error: ${err.message}`));
    const started = client.start(this.opts.app).then(() => 'started');
    const first = await Promise.race([started, closedP]);
    if (first !== 'started') {
      this.teardown(client);
      return first;
    }
    this.current = { client, ws };
    if (this.reconnects++ > 0) this.log.info({ reconnects: this.reconnects - 1 }, 'ari reconnected');
    else this.log.info({ app: this.opts.app }, 'ari app registered');
    this.emit('ready', session);

    const every = this.opts.pingEveryMs ?? 2000;
    const deadAfter = this.opts.pongTimeoutMs ?? 4000;
    lastPong = Date.now();
    const pinger = setInterval(() => {
      if (Date.now() - lastPong > deadAfter) {
        this.log.warn({ silentMs: Date.now() - lastPong }, 'ari websocket stopped answering pings; rebuilding');
        closed('pong timeout');
        return;
      }
      try {
        client.ping();
      } catch (err) {
        closed(`ping failed: ${(err as Error).message}`);
      }
    }, every);
    const abort = () => closed('stopped');
    this.stopped.signal.addEventListener('abort', abort, { once: true });
    const reason = await closedP;
    clearInterval(pinger);
    this.stopped.signal.removeEventListener('abort', abort);
    this.current = undefined;
    session.close();
    this.teardown(client, ws);
    if (!this.stopped.signal.aborted) {
      this.log.warn({ reason }, 'ari connection lost');
      this.emit('lost', reason);
    }
    return 'connected-then-lost';
  }

  private teardown(client: Client, ws?: WebSocket): void {
    (client as unknown as EventEmitter).removeAllListeners();
    try {
      // stop() marks the close as intended; terminate() drops a half-dead socket at once.
      client.stop();
      ws?.terminate();
    } catch {
      /* already gone */
    }
  }
}
