// What every environment loader shares (src/config.ts, src/abandon/notify-config.ts,
// src/recordings/config.ts, src/monitoring/config.ts):
// which variables are secrets, how a bad one is reported (one line naming the
// variable, its value unless secret, and what was expected), and ISO-8601 durations
// (also the CLI's and the HTTP API's `within`).
import { Duration } from 'luxon';
import { z } from 'zod';

export class ConfigError extends Error {}

// URLs that carry a credential are secrets too: a Slack webhook URL is its own token,
// and webhook and SMTP URLs often carry one in the path, query or user part.
const secretUrls = new Set(['SLACK_WEBHOOK_URL', 'SMTP_URL', 'NOTIFY_WEBHOOK_URL']);

/** Never echoed in an error line. */
export function isSecretVariable(key: string): boolean {
  return /PASSWORD|API_KEY|SECRET|TOKEN/.test(key) || secretUrls.has(key);
}

/** The variables among `names` that are set; an empty one counts as unset (docker compose writes `FOO=`). */
export function readEnv(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const input: Record<string, string> = {};
  for (const k of names) {
    const v = env[k];
    if (v !== undefined && v !== '') input[k] = v;
  }
  return input;
}

/** A bad value as the error line shows it: secrets never, URLs without their credentials. */
function shownValue(key: string, value: string | undefined): string {
  if (value === undefined) return '(unset)';
  if (isSecretVariable(key)) return '<redacted>';
  // userinfo of anything URL-like, even when the URL parser refuses it.
  return JSON.stringify(value.replace(/\/\/[^/@\s]*@/, '//<redacted>@'));
}

/** `config: KEY=<value> is invalid: expected <what>`; the value is `(unset)` or `<redacted>` where due. */
export function configErrorLine(key: string, value: string | undefined, expected: string): string {
  return `config: ${key}=${shownValue(key, value)} is invalid: expected ${expected}`;
}

/** An ISO-8601 duration (luxon) in milliseconds; undefined when it is not one, is negative, or is zero without `allowZero`. */
export function isoDurationMs(raw: string, allowZero = false): number | undefined {
  const d = Duration.fromISO(raw);
  if (!d.isValid || d.toMillis() < 0 || (!allowZero && d.toMillis() === 0)) return undefined;
  return d.toMillis();
}

/**
 * An ISO-8601 duration (luxon) as milliseconds. `allowZero` admits PT0S; `expected`
 * is the error message, given the raw text.
 */
export function isoDuration(o: { allowZero: boolean; expected: (raw: string) => string }) {
  return z.string().transform((raw, ctx) => {
    const ms = isoDurationMs(raw, o.allowZero);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: o.expected(raw) });
      return z.NEVER;
    }
    return ms;
  });
}

/** A duration greater than zero, e.g. a TTL; `example` goes into the error line. */
export const positiveDuration = (example: string) => isoDuration({ allowZero: false, expected: () => `an ISO-8601 duration greater than zero, e.g. ${example}` });
