// Local stand-ins for the Slack Web API and the Telegram Bot API that keep the
// messages they were sent, answer in the APIs' shapes (Slack: HTTP 200 with
// {"ok":false,"error":…} for errors; Telegram: {"ok":true,"result":{message_id…}}),
// and apply edits, so a test can read what a supervisor's channel shows now.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  /** The request path, e.g. /api/chat.postMessage or /bot<token>/editMessageText. */
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  at: number;
}

export interface ChatMessage {
  /** Slack ts or Telegram message_id, as text. */
  id: string;
  channel: string;
  text: string;
  blocks?: unknown;
  edits: number;
}

export interface ChatApi {
  url: string;
  calls: ApiCall[];
  messages: ChatMessage[];
  /** While true, every request gets a 503 (the API is down). */
  down: boolean;
  close(): Promise<void>;
}

async function serve(handle: (c: ApiCall) => { status: number; body: unknown }): Promise<ChatApi & { server: Server }> {
  const calls: ApiCall[] = [];
  const state = { down: false };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        /* answered below as a bad request */
      }
      const call: ApiCall = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, at: Date.now() };
      calls.push(call);
      const r = api.down ? { status: 503, body: { ok: false, error: 'service_unavailable' } } : handle(call);
      res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const api = {
    url: `http://127.0.0.1:${port}`,
    calls,
    messages: [] as ChatMessage[],
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
    },
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  return api;
}

/** Slack Web API at `${url}/api`: chat.postMessage and chat.update with `Authorization: Bearer <token>`. */
export async function startSlackApi(token: string, channelId = 'C0STICKY01'): Promise<ChatApi> {
  let seq = 0;
  const api: ChatApi = await serve((c) => {
    if (c.headers.authorization !== `Bearer ${token}`) return { status: 200, body: { ok: false, error: c.headers.authorization ? 'invalid_auth' : 'not_authed' } };
    if (c.path === '/api/chat.postMessage') {
      if (c.body.channel !== channelId && c.body.channel !== '#abandons') return { status: 200, body: { ok: false, error: 'channel_not_found' } };
      if (typeof c.body.text !== 'string' || c.body.text === '') return { status: 200, body: { ok: false, error: 'no_text' } };
      const ts = `1796000000.${String(++seq).padStart(6, '0')}`;
      api.messages.push({ id: ts, channel: channelId, text: c.body.text, blocks: c.body.blocks, edits: 0 });
      return { status: 200, body: { ok: true, channel: channelId, ts, message: { type: 'message', subtype: 'bot_message', text: c.body.text, ts } } };
    }
    if (c.path === '/api/chat.update') {
      // chat.update takes the channel id (not a name) and the message's ts.
      const m = api.messages.find((x) => x.id === c.body.ts && x.channel === c.body.channel);
      if (!m) return { status: 200, body: { ok: false, error: c.body.channel === channelId ? 'message_not_found' : 'channel_not_found' } };
      m.text = String(c.body.text ?? m.text);
      if (c.body.blocks) m.blocks = c.body.blocks;
      m.edits++;
      return { status: 200, body: { ok: true, channel: m.channel, ts: m.id, text: m.text } };
    }
    return { status: 200, body: { ok: false, error: 'unknown_method' } };
  });
  return api;
}

/** Telegram Bot API at `${url}/bot<token>/…`: sendMessage and editMessageText. */
export async function startTelegramApi(token: string): Promise<ChatApi> {
  let seq = 100;
  const api: ChatApi = await serve((c) => {
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(c.path);
    if (!m || m[1] !== token) return { status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } };
    const chat = String(c.body.chat_id);
    if (m[2] === 'sendMessage') {
      const id = ++seq;
      api.messages.push({ id: String(id), channel: chat, text: String(c.body.text ?? ''), edits: 0 });
      return { status: 200, body: { ok: true, result: { message_id: id, chat: { id: Number(chat), type: 'supergroup' }, date: Math.floor(Date.now() / 1000), text: c.body.text } } };
    }
    if (m[2] === 'editMessageText') {
      const msg = api.messages.find((x) => x.id === String(c.body.message_id) && x.channel === chat);
      if (!msg) return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: message to edit not found' } };
      if (msg.text === c.body.text) return { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message' } };
      msg.text = String(c.body.text ?? '');
      msg.edits++;
      return { status: 200, body: { ok: true, result: { message_id: Number(msg.id), chat: { id: Number(chat) }, text: msg.text, edit_date: Math.floor(Date.now() / 1000) } } };
    }
    return { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } };
  });
  return api;
}
