// Telegram Bot API sendMessage. The bot token is part of the URL path, so the URL
// is never logged or put in an error: errors name only the API's origin. Plain
// text (no parse_mode): caller data cannot break Markdown/HTML parsing. Telegram
// has no idempotency key: a retry after a lost response can post twice.
import { notificationText, type Notification } from '../notification.js';
import { postJson } from './http.js';
import { DeliveryError, type Notifier } from './types.js';

export interface TelegramOptions {
  token: string;
  chatId: string;
  apiUrl: string;
  timeoutMs?: number;
}

/** Telegram's limit for one message. */
const MAX_TEXT = 4096;

export class TelegramNotifier implements Notifier {
  readonly channel = 'telegram' as const;
  private readonly url: string;
  private readonly label: string;

  constructor(private readonly o: TelegramOptions) {
    this.url = `${o.apiUrl.replace(/\/+$/, '')}/bot${o.token}/sendMessage`;
    this.label = `telegram sendMessage ${new URL(o.apiUrl).origin}`;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<void> {
    const chatId = /^-?\d+$/.test(this.o.chatId) ? Number(this.o.chatId) : this.o.chatId;
    const body = JSON.stringify({ chat_id: chatId, text: notificationText(n).slice(0, MAX_TEXT) });
    try {
      await postJson(this.url, body, { label: this.label, signal, timeoutMs: this.o.timeoutMs });
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      // The API reports flood control in the body: {"parameters":{"retry_after":N}}.
      const retryAfter = /"retry_after"\s*:\s*(\d+)/.exec(err.responseBody ?? '')?.[1];
      const message = err.message.split(this.o.token).join('<token>');
      throw new DeliveryError(message, err.permanent, retryAfter ? Number(retryAfter) * 1000 : err.retryAfterMs);
    }
  }
}
