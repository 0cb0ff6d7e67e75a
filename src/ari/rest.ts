// The ARI requests on a call's path (continue, set a variable, ring) sent straight
// over a keep-alive HTTP agent. ari-client builds every request through
// swagger-client (request object, parameter validation, Bluebird promises, a new
// socket per request unless told otherwise): ~0.3 ms of CPU per request, on the
// event loop that routes calls and between the decision and the caller hearing the
// agent ring. The rest of ARI (the app's WebSocket, listings, subscriptions) stays
// with ari-client.
import http from 'node:http';
import https from 'node:https';

export interface AriRestOptions {
  url: string;
  username: string;
  password: string;
  /** Per request: the call path must not wait on a hung Asterisk HTTP server. */
  timeoutMs?: number;
}

/** An ARI request that did not answer 2xx: the status and Asterisk's message. */
export class AriRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

export class AriRest {
  private readonly base: URL;
  private readonly auth: string;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly timeoutMs: number;

  constructor(o: AriRestOptions) {
    this.base = new URL(o.url);
    this.base.username = '';
    this.base.password = '';
    this.auth = `Basic ${Buffer.from(`${o.username}:${o.password}`).toString('base64')}`;
    const tls = this.base.protocol === 'https:';
    // A few sockets kept open: a new TCP connection per request costs more than the request.
    // Idle ones are closed after 5 s, before Asterisk's own idle close (http.conf
    // session_keep_alive, 15 s by default) can race a request onto a closing socket.
    const agentOptions = { keepAlive: true, maxSockets: 16, timeout: 5000 };
    this.agent = tls ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.request = tls ? https.request : http.request;
    this.timeoutMs = o.timeoutMs ?? 5000;
  }

  /** POST /ari/channels/{id}/continue */
  continueInDialplan(o: { channelId: string; context: string; extension: string; priority: number }): Promise<void> {
    return this.post(`/channels/${encodeURIComponent(o.channelId)}/continue`, { context: o.context, extension: o.extension, priority: String(o.priority) });
  }

  /** POST /ari/channels/{id}/variable */
  setChannelVar(o: { channelId: string; variable: string; value: string }): Promise<void> {
    return this.post(`/channels/${encodeURIComponent(o.channelId)}/variable`, { variable: o.variable, value: o.value });
  }

  /** POST /ari/channels/{id}/ring */
  ring(o: { channelId: string }): Promise<void> {
    return this.post(`/channels/${encodeURIComponent(o.channelId)}/ring`, {});
  }

  close(): void {
    this.agent.destroy();
  }

  private async post(path: string, query: Record<string, string>): Promise<void> {
    try {
      await this.send(path, query);
    } catch (err) {
      // A kept-alive socket the server closed as we wrote: the request never reached
      // Asterisk, so sending it again on a fresh socket is safe (Node's documented pattern).
      if (!(err instanceof StaleSocket)) throw err;
      await this.send(path, query);
    }
  }

  private send(path: string, query: Record<string, string>): Promise<void> {
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const qs = new URLSearchParams(query).toString();
    const target = `${prefix}/ari${path}${qs ? `?${qs}` : ''}`;
    return new Promise((resolve, reject) => {
      const req = this.request(
        { protocol: this.base.protocol, hostname: this.base.hostname, port: this.base.port || undefined, method: 'POST', path: target, agent: this.agent, headers: { authorization: this.auth, 'content-length': 0 }, timeout: this.timeoutMs },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            res.resume();
            res.on('end', () => resolve());
            res.on('error', reject);
            return;
          }
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c.length + body.length <= 2000 ? c : ''));
          res.on('end', () => reject(new AriRequestError(`ARI POST ${path}: HTTP ${status}${ariMessage(body)}`, status)));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new AriRequestError(`ARI POST ${path}: no answer within ${this.timeoutMs} ms`, undefined)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof AriRequestError) reject(err);
        else if (req.reusedSocket && err.code === 'ECONNRESET') reject(new StaleSocket(err.message));
        else reject(new AriRequestError(`ARI POST ${path}: ${err.message}`, undefined));
      });
      req.end();
    });
  }
}

class StaleSocket extends Error {}

/** Asterisk answers errors as {"message": "..."}; anything else is shown cut short. */
function ariMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof m === 'string') return ` (${m})`;
  } catch {
    // not JSON
  }
  return body ? ` (${body.slice(0, 200)})` : '';
}
