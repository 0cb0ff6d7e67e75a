// The existing chat/e-mail channels (NOTIFY_* / SLACK_* / TELEGRAM_* / SMTP_*), for
// monitoring alerts: a call that broke its DID's voice-quality limits. Each channel
// is a target of the monitoring outbox, so an alert is as durable as an abandon
// notification. The body is `{ subject, text }`.
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { NotifyConfig } from '../abandon/notify-config.js';
import { postJson } from '../abandon/notifiers/http.js';
import { smtpDeliveryError, smtpTransport } from '../abandon/notifiers/email.js';
import { DeliveryError, SEND_TIMEOUT_MS } from '../abandon/notifiers/types.js';
import type { DeliveryRow, DeliveryTarget } from './outbox.js';

export interface Alert {
  subject: string;
  text: string;
}

const parse = (row: DeliveryRow) => JSON.parse(row.body) as Alert;

export function alertTargets(c: NotifyConfig, opts: { timeoutMs?: number } = {}): DeliveryTarget[] {
  const out: DeliveryTarget[] = [];
  const timeoutMs = opts.timeoutMs;
  if (c.SLACK_WEBHOOK_URL) {
    const url = c.SLACK_WEBHOOK_URL;
    const label = `slack POST ${new URL(url).origin}`;
    out.push({ id: 'alert:slack', send: async (row, signal) => void (await postJson(url, JSON.stringify({ text: `*${parse(row).subject}*\n${parse(row).text}` }), { label, signal, timeoutMs })) });
  }
  if (c.TELEGRAM_BOT_TOKEN && c.TELEGRAM_CHAT_ID) {
    const url = `${c.TELEGRAM_API_URL.replace(/\/+$/, '')}/bot${c.TELEGRAM_BOT_TOKEN}/sendMessage`;
    const label = `telegram sendMessage ${new URL(c.TELEGRAM_API_URL).origin}`;
    const chatId = c.TELEGRAM_CHAT_ID;
    out.push({ id: 'alert:telegram', send: async (row, signal) => void (await postJson(url, JSON.stringify({ chat_id: chatId, text: `${parse(row).subject}\n${parse(row).text}`.slice(0, 4096) }), { label, signal, timeoutMs })) });
  }
  if (c.SMTP_URL && c.NOTIFY_EMAIL_TO) {
    const mailer = new Mailer(c.SMTP_URL, c.NOTIFY_EMAIL_FROM, timeoutMs);
    const to = c.NOTIFY_EMAIL_TO;
    out.push({ id: 'alert:email', send: (row, signal) => mailer.send(to, parse(row), row.id, signal), close: () => mailer.close() });
  }
  return out;
}

/** nodemailer with the abandon e-mails' failure classification (notifiers/email.ts). */
export class Mailer {
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;
  private readonly label: string;
  private readonly domain: string;

  constructor(
    smtpUrl: string,
    private readonly from: string,
    timeoutMs = SEND_TIMEOUT_MS,
  ) {
    this.transport = smtpTransport(smtpUrl, timeoutMs);
    this.label = `smtp ${new URL(smtpUrl).host}`;
    this.domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'sticky-router.invalid';
  }

  async send(to: string[], a: Alert, key: string, signal?: AbortSignal): Promise<void> {
    try {
      const info = await this.transport.sendMail({ from: this.from, to, subject: a.subject, text: a.text, messageId: `<${key}@${this.domain}>`, headers: { 'X-Sticky-Idempotency-Key': key }, signal });
      if (info.accepted.length === 0) throw new DeliveryError(`${this.label}: every recipient was rejected`, true);
    } catch (err) {
      throw smtpDeliveryError(this.label, err);
    }
  }

  close(): void {
    this.transport.close();
  }
}
