// Telegram Bot API sendMessage, and editMessageText once the caller is reached
// (the message_id from sendMessage's answer is kept in the outbox). The bot token is
// part of the URL path, so the URL is never logged or put in an error: errors name
// only the API's origin. Plain text (no parse_mode): caller data cannot break
// Markdown/HTML parsing. Telegram has no idempotency key: a retry after a lost
// response can post twice.
import { notificationText, type Notification } from '../notification.js';
import { resolvedMessageText, type ResolutionNotice } from '../resolution-notice.js';
import { postJson } from './http.js';
import { DeliveryError, type DeliveryReceipt, type Notifier } from './types.js';

export interface TelegramOptions {
  token: string;
  chatId: string;
  apiUrl: string;
  timeoutMs?: number;
}

/** Telegram's limit for one message. */
const MAX_TEXT = 4096;

interface TelegramRef {
  chat_id: number | string;
  message_id: number;
}

export class TelegramNotifier implements Notifier {
  readonly channel = 'telegram' as const;
  private readonly base: string;
  private readonly origin: string;
  private readonly chatId: number | string;

  constructor(private readonly o: TelegramOptions) {
    this.base = `${o.apiUrl.replace(/\/+$/, '')}/bot${o.token}`;
    this.origin = new URL(o.apiUrl).origin;
    this.chatId = /^-?\d+$/.test(o.chatId) ? Number(o.chatId) : o.chatId;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<DeliveryReceipt> {
    const text = await this.call('sendMessage', { chat_id: this.chatId, text: notificationText(n).slice(0, MAX_TEXT) }, signal);
    let result: { message_id?: unknown; chat?: { id?: unknown } } | undefined;
    try {
      result = (JSON.parse(text) as { result?: typeof result }).result;
    } catch {
      return {}; // delivered; without a message_id it cannot be edited later
    }
    if (typeof result?.message_id !== 'number') return {};
    const chat = result.chat?.id;
    const ref: TelegramRef = { chat_id: typeof chat === 'number' || typeof chat === 'string' ? chat : this.chatId, message_id: result.message_id };
    return { ref: JSON.stringify(ref) };
  }

  /** editMessageText on every message sent about the alert; one deleted meanwhile is skipped. */
  async resolve(r: ResolutionNotice, signal?: AbortSignal): Promise<void> {
    for (const m of r.messages) {
      if (!m.ref) continue;
      const ref = JSON.parse(m.ref) as TelegramRef;
      try {
        await this.call('editMessageText', { chat_id: ref.chat_id, message_id: ref.message_id, text: resolvedMessageText(r, m.notification).slice(0, MAX_TEXT) }, signal);
      } catch (err) {
        // A retry after a lost response: the edit was made already.
        if (err instanceof DeliveryError && /message is not modified/.test(err.responseBody ?? '')) continue;
        if (err instanceof DeliveryError && err.permanent && /message to edit not found|message can't be edited/.test(err.responseBody ?? '')) continue;
        throw err;
      }
    }
  }

  private async call(method: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<string> {
    const label = `telegram ${method} ${this.origin}`;
    try {
      return (await postJson(`${this.base}/${method}`, JSON.stringify(body), { label, signal, timeoutMs: this.o.timeoutMs })).body;
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      // The API reports flood control in the body: {"parameters":{"retry_after":N}}.
      const retryAfter = /"retry_after"\s*:\s*(\d+)/.exec(err.responseBody ?? '')?.[1];
      const message = err.message.split(this.o.token).join('<token>');
      throw new DeliveryError(message, err.permanent, retryAfter ? Number(retryAfter) * 1000 : err.retryAfterMs, err.responseBody);
    }
  }
}
