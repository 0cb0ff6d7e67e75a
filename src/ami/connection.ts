// One AMI session for the whole process, around asterisk-ami-client's weak spots:
// our own reconnect loop (forever, with backoff), our own ActionIDs (the library's
// collide within a millisecond) and response matching (pending-actions.ts), a Ping watchdog that tears down a silently dead
// socket, and CR/LF stripped from every outgoing value.
import { EventEmitter } from 'node:events';
import AmiClient, { type AmiMessage } from 'asterisk-ami-client';
import type { Logger } from '../log.js';
import { backoffDelay, sleep } from '../backoff.js';
import { sanitizeAction, type AmiFieldValue } from './sanitize.js';
import { withTimeout } from '../timeout.js';
import { PendingActions } from './pending-actions.js';
import { installAmiStreamFastPath } from './events-stream-fast-path.js';

export type AmiEvent = AmiMessage & { Event: string };

export interface AmiOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  /** How often to Ping, and how long a Ping may go unanswered before the socket is declared dead. */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  actionTimeoutMs?: number;
  /**
   * Whitelist filters for this session (AMI `Filter` action, re-applied on every
   * login): the router reads a dozen of the ~90 events a call produces, and parsing
   * the rest costs the event loop that routes calls. Needs `system` write access;
   * without it the session stays unfiltered (logged once).
   */
  eventFilters?: readonly string[];
}

export class AmiAuthError extends Error {}

interface AmiConnectionEvents {
  event: [e: AmiEvent];
  connected: [];
  disconnected: [];
}

export class AmiConnection extends EventEmitter<AmiConnectionEvents> {
  private client: AmiClient | undefined;
  private readonly pending = new PendingActions();
  private stopped = new AbortController();
  reconnects = 0;
  connected = false;
  /** Epoch ms of the current session's login. */
  connectedAt: number | undefined;
  /** Epoch ms of the last bytes any AMI socket delivered: where an AMI gap begins. */
  lastDataAt: number | undefined;

  constructor(private readonly opts: AmiOptions, private readonly log: Logger) {
    super();
    // The library's socket parser is quadratic in the read size (see the module).
    installAmiStreamFastPath();
  }

  /**
   * Resolves on the first login, however long Asterisk takes to come up (the router
   * may start first). Rejects only when Asterisk refuses the credentials.
   */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.connectOnce();
        break;
      } catch (err) {
        if (err instanceof AmiAuthError || this.stopped.signal.aborted) throw err;
        const delay = backoffDelay(attempt, 200, 5000);
        this.log[attempt === 0 ? 'info' : 'warn']({ err: (err as Error).message, retryInMs: delay }, 'ami not reachable yet; retrying');
        await sleep(delay, this.stopped.signal);
      }
    }
    void this.superviseForever();
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.client?.disconnect();
    this.client = undefined;
    this.connected = false;
    this.pending.failAll('AMI disconnected: the router is stopping');
  }

  /** Sends an action with a unique ActionID and sanitised values; rejects on error response or timeout. */
  async action(fields: Record<string, AmiFieldValue>, timeoutMs = this.opts.actionTimeoutMs ?? 5000): Promise<AmiMessage> {
    const client = this.client;
    if (!client || !this.connected) throw new Error('AMI not connected');
    const id = this.pending.nextId();
    const msg = sanitizeAction({ ...fields, ActionID: id });
    const answered = this.pending.wait(id, timeoutMs, `AMI ${msg.Action} timed out after ${timeoutMs} ms`);
    client.action(msg, false);
    const res = await answered;
    if (res.Response === 'Error') throw new Error(`AMI ${msg.Action} failed: ${res.Message ?? 'error'}`);
    return res;
  }

  private async connectOnce(): Promise<void> {
    const client = new AmiClient({ reconnect: false, keepAlive: false, emitEventsByTypes: false, addTime: false });
    client.on('internalError', (err: Error) => this.log.warn({ err }, 'ami socket error'));
    // Any bytes prove the socket alive (see watch()); also where a later gap begins.
    client.on('data', () => {
      this.lastDataAt = Date.now();
    });
    client.on('response', (r: AmiMessage) => this.pending.settle(r));
    client.on('disconnect', () => this.pending.failAll('AMI disconnected before answering'));
    client.on('event', (e: AmiMessage) => {
      if (typeof e.Event !== 'string') return;
      try {
        this.emit('event', e as AmiEvent);
      } catch (err) {
        this.log.error({ err, event: e.Event }, 'ami event handler failed');
      }
    });
    const t0 = Date.now();
    try {
      await withTimeout(client.connect(this.opts.username, this.opts.password, { host: this.opts.host, port: this.opts.port }), 10_000, 'AMI connect timed out after 10000 ms');
    } catch (err) {
      client.disconnect();
      const e = err as Error;
      if (e.name === 'AmiAuthError' || /auth/i.test(e.message)) {
        throw new AmiAuthError(`AMI ${this.opts.host}:${this.opts.port} rejected user ${JSON.stringify(this.opts.username)}: check AMI_USERNAME/AMI_PASSWORD and manager.conf permit/deny`);
      }
      throw e;
    }
    this.client = client;
    this.connected = true;
    this.connectedAt = Date.now();
    // The login's response is data too (the connector reads it before 'data' is wired).
    this.lastDataAt = this.connectedAt;
    await this.applyFilters();
    this.log.info({ ms: Date.now() - t0, host: this.opts.host, port: this.opts.port, filtered: (this.opts.eventFilters?.length ?? 0) > 0 }, 'ami connected');
    this.emit('connected');
  }

  private filterWarned = false;

  private async applyFilters(): Promise<void> {
    for (const filter of this.opts.eventFilters ?? []) {
      try {
        await this.action({ Action: 'Filter', Operation: 'Add', Filter: filter });
      } catch (err) {
        if (!this.filterWarned) this.log.warn({ err: (err as Error).message }, 'ami event filter refused (give the user write=system); receiving every event');
        this.filterWarned = true;
        return;
      }
    }
  }

  /** Keeps the session alive: watchdog while connected, reconnect with backoff when not. */
  private async superviseForever(): Promise<void> {
    let attempt = 0;
    while (!this.stopped.signal.aborted) {
      if (this.connected && this.client) {
        await this.watch(this.client);
        if (this.stopped.signal.aborted) return;
        this.connected = false;
        this.client = undefined;
        this.pending.failAll('AMI disconnected before answering');
        this.emit('disconnected');
        this.log.warn('ami disconnected; reconnecting');
      }
      try {
        await this.connectOnce();
        this.reconnects++;
        attempt = 0;
      } catch (err) {
        const delay = backoffDelay(attempt++, 200, 5000);
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'ami reconnect failed');
        await sleep(delay, this.stopped.signal);
      }
    }
  }

  /**
   * Resolves when the socket closes or goes silent. Silent means no byte at all
   * (events or the Pong) for keepaliveTimeoutMs after a Ping: a socket that is
   * delivering events is alive even if the Pong is queued behind them. The check
   * runs after a setImmediate, so that when the event loop was busy (a long
   * synchronous task) the bytes waiting in the kernel are read before deciding:
   * a socket holding unread events is never torn down.
   */
  private watch(client: AmiClient): Promise<void> {
    const every = this.opts.keepaliveMs ?? 5000;
    const deadAfter = this.opts.keepaliveTimeoutMs ?? 3000;
    return new Promise((resolve) => {
      let done = false;
      let check: NodeJS.Timeout | undefined;
      const finish = () => {
        if (done) return;
        done = true;
        clearInterval(timer);
        clearTimeout(check);
        client.removeListener('disconnect', finish);
        this.stopped.signal.removeEventListener('abort', finish);
        resolve();
      };
      const ping = () => {
        if (done || check) return;
        const sentAt = Date.now();
        this.action({ Action: 'Ping' }, every + deadAfter).catch(() => undefined);
        check = setTimeout(() => {
          // Read what the kernel holds first (I/O runs before setImmediate callbacks).
          setImmediate(() => {
            check = undefined;
            if (done) return;
            if ((this.lastDataAt ?? 0) >= sentAt) return; // bytes arrived since the Ping: alive
            const silentMs = Date.now() - Math.max(sentAt, this.lastDataAt ?? 0);
            this.log.warn({ silentMs }, 'ami keepalive failed; dropping the socket');
            // close() destroys the socket, so a blackholed connection does not linger.
            client._connection?.close();
            client.disconnect();
            finish();
          });
        }, deadAfter);
      };
      const timer = setInterval(ping, every);
      client.once('disconnect', finish);
      this.stopped.signal.addEventListener('abort', finish, { once: true });
    });
  }
}
