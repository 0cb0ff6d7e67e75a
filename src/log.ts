// One pino logger for the process. Secrets are always redacted; phone numbers
// only when LOG_REDACT_NUMBERS=true (they are what supervisors search for).
import { pino, type Logger } from 'pino';
import { ecsLoggerOptions } from './log-ecs.js';
import { version } from './version.js';

export type { Logger };

export const secretPaths = [
  '*.password', '*.secret', '*.token', '*.apiKey', '*.api_key', '*.authorization',
  'config.ARI_PASSWORD', 'config.AMI_PASSWORD', 'config.ES_PASSWORD', 'config.ES_API_KEY',
  'config.NOTIFY_WEBHOOK_SECRET', 'config.TELEGRAM_BOT_TOKEN', 'config.SLACK_WEBHOOK_URL', 'config.SMTP_URL', 'config.HTTP_TOKEN',
  'req.headers.authorization',
  'NOTIFY_WEBHOOK_SECRET', 'TELEGRAM_BOT_TOKEN', 'HTTP_TOKEN',
];
export const numberPaths = ['caller.raw', 'caller.e164', 'decision.caller.raw', 'decision.caller.e164', 'abandon.caller.raw', 'abandon.caller.e164', 'number'];

export function createLogger(opts: { level: string; redactNumbers: boolean; format?: 'ecs' | 'json'; destination?: pino.DestinationStream }): Logger {
  const paths = opts.redactNumbers ? [...secretPaths, ...numberPaths] : secretPaths;
  if (opts.format === 'ecs') return pino(ecsLoggerOptions({ level: opts.level, redact: { paths, censor: '[redacted]' }, serviceVersion: version }), opts.destination);
  return pino(
    {
      level: opts.level,
      base: { service: 'sticky-router' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination,
  );
}

/** Strips credentials from a URL before it is logged (ari-client puts them in the query). */
export function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    for (const k of [...u.searchParams.keys()]) if (/key|pass|secret|token/i.test(k)) u.searchParams.set(k, 'redacted');
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
