// Builds the notifiers the configuration enables.
import type { NotifyConfig } from '../notify-config.js';
import { EmailNotifier } from './email.js';
import { SlackBotNotifier, SlackNotifier } from './slack.js';
import { TelegramNotifier } from './telegram.js';
import type { Notifier } from './types.js';
import { WebhookNotifier } from './webhook.js';

export type { Notifier } from './types.js';
export { DeliveryError } from './types.js';

export function createNotifiers(c: NotifyConfig, opts: { timeoutMs?: number } = {}): Notifier[] {
  const out: Notifier[] = [];
  const timeoutMs = opts.timeoutMs;
  if (c.NOTIFY_WEBHOOK_URL && c.NOTIFY_WEBHOOK_SECRET) out.push(new WebhookNotifier({ url: c.NOTIFY_WEBHOOK_URL, secret: c.NOTIFY_WEBHOOK_SECRET, timeoutMs }));
  if (c.SLACK_WEBHOOK_URL) out.push(new SlackNotifier({ url: c.SLACK_WEBHOOK_URL, timeoutMs }));
  else if (c.SLACK_BOT_TOKEN && c.SLACK_CHANNEL) out.push(new SlackBotNotifier({ token: c.SLACK_BOT_TOKEN, channel: c.SLACK_CHANNEL, apiUrl: c.SLACK_API_URL, timeoutMs }));
  if (c.TELEGRAM_BOT_TOKEN && c.TELEGRAM_CHAT_ID) out.push(new TelegramNotifier({ token: c.TELEGRAM_BOT_TOKEN, chatId: c.TELEGRAM_CHAT_ID, apiUrl: c.TELEGRAM_API_URL, timeoutMs }));
  if (c.SMTP_URL && c.NOTIFY_EMAIL_TO) out.push(new EmailNotifier({ smtpUrl: c.SMTP_URL, from: c.NOTIFY_EMAIL_FROM, to: c.NOTIFY_EMAIL_TO, resolved: c.NOTIFY_EMAIL_RESOLVED, timeoutMs }));
  return out;
}
