// Environment for the abandon notifiers, validated before anything connects. Each
// channel is enabled by its variables; a half-configured channel is an error, not
// a silently disabled notifier. Errors use the one-line format of src/env.ts.
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError, configErrorLine, isoDuration, readEnv } from '../env.js';

const parsesAs = (v: string, protocols: string[]) => {
  try {
    const u = new URL(v);
    return protocols.includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
};

const httpUrl = (example: string) =>
  z.string().refine((v) => parsesAs(v, ['http:', 'https:']), { message: `an http(s) URL, e.g. ${example}`, abort: true });

// A bare address or `Name <address>`; nodemailer parses both.
const address = /^(?:[^<>@\s,]+@[^<>@\s,]+|[^<>,]*<[^<>@\s,]+@[^<>@\s,]+>)$/;
const addressList = z.string().transform((raw, ctx) => {
  const list = raw.split(',').map((a) => a.trim()).filter((a) => a !== '');
  if (list.length === 0 || !list.every((a) => address.test(a))) {
    ctx.addIssue({ code: 'custom', message: 'a comma-separated list of e-mail addresses, e.g. supervisor@example.com,team@example.com' });
    return z.NEVER;
  }
  return list;
});

const schema = z.object({
  NOTIFY_WEBHOOK_URL: httpUrl('https://crm.example.com/hooks/abandon').optional(),
  NOTIFY_WEBHOOK_SECRET: z.string().min(16, 'a shared secret of at least 16 characters for signing webhooks').optional(),
  SLACK_WEBHOOK_URL: httpUrl('https://hooks.slack.com/services/T000/B000/XXXX').optional(),
  // Bot token mode: chat.postMessage, and chat.update when the caller is reached.
  SLACK_BOT_TOKEN: z.string().regex(/^xox[bp]-[A-Za-z0-9-]+$/, 'a Slack bot token, e.g. xoxb-…, with the chat:write scope').optional(),
  SLACK_CHANNEL: z.string().regex(/^(?:[CGD][A-Z0-9]{2,}|#?[a-z0-9][a-z0-9._-]{0,79})$/, 'a channel id such as C0123456789 (or a channel name)').optional(),
  SLACK_API_URL: httpUrl('https://slack.com/api').default('https://slack.com/api'),
  TELEGRAM_BOT_TOKEN: z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, 'a bot token from @BotFather, e.g. 123456789:AAH…, without the "bot" prefix').optional(),
  TELEGRAM_CHAT_ID: z.string().regex(/^(?:-?\d+|@[A-Za-z][A-Za-z0-9_]{3,})$/, 'a numeric chat id (e.g. -1001234567890) or a @channelname').optional(),
  TELEGRAM_API_URL: httpUrl('https://api.telegram.org').default('https://api.telegram.org'),
  SMTP_URL: z
    .string()
    .refine((v) => parsesAs(v, ['smtp:', 'smtps:']), 'an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587')
    .optional(),
  NOTIFY_EMAIL_FROM: z.string().regex(address, 'an e-mail address, e.g. pbx@example.com').optional(),
  NOTIFY_EMAIL_TO: addressList.optional(),
  NOTIFY_EMAIL_RESOLVED: z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'true or false' }).transform((v) => ['true', '1', 'yes'].includes(v)).default(false),
  NOTIFY_DEDUPE_WINDOW: isoDuration({ allowZero: true, expected: () => 'an ISO-8601 duration, e.g. PT10M (PT0S turns deduplication off)' }).prefault('PT10M'),
});

export type NotifyConfig = Omit<z.output<typeof schema>, 'NOTIFY_EMAIL_FROM'> & { NOTIFY_EMAIL_FROM: string };
export const notifyConfigNames = Object.keys(schema.shape) as (keyof NotifyConfig)[];

/** Variables that only make sense together: [needed, when this is set, what is expected]. */
const pairs: [keyof NotifyConfig, keyof NotifyConfig, string][] = [
  ['NOTIFY_WEBHOOK_SECRET', 'NOTIFY_WEBHOOK_URL', 'a shared secret of at least 16 characters for signing webhooks (required when NOTIFY_WEBHOOK_URL is set)'],
  ['NOTIFY_WEBHOOK_URL', 'NOTIFY_WEBHOOK_SECRET', 'an http(s) URL to send signed webhooks to (NOTIFY_WEBHOOK_SECRET is set without it)'],
  ['TELEGRAM_CHAT_ID', 'TELEGRAM_BOT_TOKEN', 'TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID set together'],
  ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_CHAT_ID', 'TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID set together'],
  ['NOTIFY_EMAIL_TO', 'SMTP_URL', 'a comma-separated list of e-mail addresses (required when SMTP_URL is set)'],
  ['SMTP_URL', 'NOTIFY_EMAIL_TO', 'an smtp:// or smtps:// URL (NOTIFY_EMAIL_TO is set without it)'],
  ['SLACK_CHANNEL', 'SLACK_BOT_TOKEN', 'the channel to post to (required with SLACK_BOT_TOKEN)'],
  ['SLACK_BOT_TOKEN', 'SLACK_CHANNEL', 'a bot token (SLACK_CHANNEL is set without it)'],
];

/** Parses the notifier variables; throws ConfigError with one line per bad variable. */
export function loadNotifyConfig(env: NodeJS.ProcessEnv = process.env): NotifyConfig {
  const input = readEnv(env, notifyConfigNames);
  const problems = new Map<string, string>();
  const parsed = schema.safeParse(input);
  if (!parsed.success) for (const i of parsed.error.issues) if (!problems.has(String(i.path[0]))) problems.set(String(i.path[0]), i.message);
  // Checked on presence, outside zod, so they are reported together with format errors.
  for (const [needed, when, message] of pairs) if (input[when] !== undefined && input[needed] === undefined && !problems.has(needed)) problems.set(needed, message);
  if (input.SLACK_WEBHOOK_URL !== undefined && input.SLACK_BOT_TOKEN !== undefined && !problems.has('SLACK_BOT_TOKEN')) {
    problems.set('SLACK_BOT_TOKEN', 'either SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN + SLACK_CHANNEL, not both (the bot token can also edit messages)');
  }
  if (problems.size > 0 || !parsed.success) {
    const lines = [...problems].map(([key, message]) => configErrorLine(key, input[key], message));
    throw new ConfigError(lines.join('\n'));
  }
  return { ...parsed.data, NOTIFY_EMAIL_FROM: parsed.data.NOTIFY_EMAIL_FROM ?? `sticky-router@${hostname()}` };
}

export type Channel = 'webhook' | 'slack' | 'telegram' | 'email';

/** The channels the configuration turns on, in a stable order. */
export function enabledChannels(c: NotifyConfig): Channel[] {
  const on: Channel[] = [];
  if (c.NOTIFY_WEBHOOK_URL && c.NOTIFY_WEBHOOK_SECRET) on.push('webhook');
  if (c.SLACK_WEBHOOK_URL || (c.SLACK_BOT_TOKEN && c.SLACK_CHANNEL)) on.push('slack');
  if (c.TELEGRAM_BOT_TOKEN && c.TELEGRAM_CHAT_ID) on.push('telegram');
  if (c.SMTP_URL && c.NOTIFY_EMAIL_TO) on.push('email');
  return on;
}
