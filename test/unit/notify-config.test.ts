// Notifier settings: defaults, channels enabled by their variables, and the exact
// start-up error lines (src/config.ts's format; secrets never echoed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { ConfigError } from '../../src/config.js';
import { enabledChannels, loadNotifyConfig, notifyConfigNames } from '../../src/abandon/notify-config.js';

const secret = 'whsec-0123456789abcdef';
const token = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

function errorOf(env: Record<string, string>): string {
  try {
    loadNotifyConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, 'a ConfigError (exit 78 in the CLI)');
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

test('nothing set: every channel off, documented defaults', () => {
  const c = loadNotifyConfig({});
  assert.deepEqual(enabledChannels(c), []);
  assert.equal(c.TELEGRAM_API_URL, 'https://api.telegram.org');
  assert.equal(c.NOTIFY_DEDUPE_WINDOW, 10 * 60_000);
  assert.equal(c.NOTIFY_EMAIL_FROM, `sticky-router@${hostname()}`);
  assert.deepEqual(notifyConfigNames, [
    'NOTIFY_WEBHOOK_URL', 'NOTIFY_WEBHOOK_SECRET', 'SLACK_WEBHOOK_URL', 'SLACK_BOT_TOKEN', 'SLACK_CHANNEL', 'SLACK_API_URL', 'TELEGRAM_BOT_TOKEN', 'TELEGRAM_CHAT_ID',
    'TELEGRAM_API_URL', 'SMTP_URL', 'NOTIFY_EMAIL_FROM', 'NOTIFY_EMAIL_TO', 'NOTIFY_EMAIL_RESOLVED', 'NOTIFY_DEDUPE_WINDOW',
  ]);
  assert.equal(c.SLACK_API_URL, 'https://slack.com/api');
  assert.equal(c.NOTIFY_EMAIL_RESOLVED, false, 'resolution e-mails only if asked for');
});

test('every channel configured', () => {
  const c = loadNotifyConfig({
    NOTIFY_WEBHOOK_URL: 'https://crm.example.com/hooks/abandon',
    NOTIFY_WEBHOOK_SECRET: secret,
    SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T1/B2/c3',
    TELEGRAM_BOT_TOKEN: token,
    TELEGRAM_CHAT_ID: '-1001234567890',
    TELEGRAM_API_URL: 'http://127.0.0.1:9000',
    SMTP_URL: 'smtps://pbx:pw@mail.example.com:465',
    NOTIFY_EMAIL_FROM: 'PBX <pbx@example.com>',
    NOTIFY_EMAIL_TO: 'lead@example.com, team@example.com',
    NOTIFY_DEDUPE_WINDOW: 'PT5M',
    NOTIFY_UNRELATED: 'ignored',
  });
  assert.deepEqual(enabledChannels(c), ['webhook', 'slack', 'telegram', 'email']);
  assert.deepEqual(c.NOTIFY_EMAIL_TO, ['lead@example.com', 'team@example.com']);
  assert.equal(c.NOTIFY_DEDUPE_WINDOW, 5 * 60_000);
  assert.equal(loadNotifyConfig({ NOTIFY_DEDUPE_WINDOW: 'PT0S' }).NOTIFY_DEDUPE_WINDOW, 0);
});

test('an empty variable counts as unset', () => {
  assert.deepEqual(enabledChannels(loadNotifyConfig({ NOTIFY_WEBHOOK_URL: '', SLACK_WEBHOOK_URL: '' })), []);
});

const exact: [string, Record<string, string>, string][] = [
  ['malformed webhook URL', { NOTIFY_WEBHOOK_URL: 'crm.example.com/hook', NOTIFY_WEBHOOK_SECRET: secret },
    'config: NOTIFY_WEBHOOK_URL=<redacted> is invalid: expected an http(s) URL, e.g. https://crm.example.com/hooks/abandon'],
  ['webhook URL without its secret', { NOTIFY_WEBHOOK_URL: 'https://crm.example.com/hook' },
    'config: NOTIFY_WEBHOOK_SECRET=(unset) is invalid: expected a shared secret of at least 16 characters for signing webhooks (required when NOTIFY_WEBHOOK_URL is set)'],
  ['a short secret is not echoed', { NOTIFY_WEBHOOK_URL: 'https://crm.example.com/hook', NOTIFY_WEBHOOK_SECRET: 'hunter2' },
    'config: NOTIFY_WEBHOOK_SECRET=<redacted> is invalid: expected a shared secret of at least 16 characters for signing webhooks'],
  ['a secret without a URL', { NOTIFY_WEBHOOK_SECRET: secret },
    'config: NOTIFY_WEBHOOK_URL=(unset) is invalid: expected an http(s) URL to send signed webhooks to (NOTIFY_WEBHOOK_SECRET is set without it)'],
  ['Slack URL is a credential: redacted', { SLACK_WEBHOOK_URL: 'hooks.slack.com/services/T1/B2/c3' },
    'config: SLACK_WEBHOOK_URL=<redacted> is invalid: expected an http(s) URL, e.g. https://hooks.slack.com/services/T000/B000/XXXX'],
  ['Telegram token without chat', { TELEGRAM_BOT_TOKEN: token },
    'config: TELEGRAM_CHAT_ID=(unset) is invalid: expected TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID set together'],
  ['Telegram chat without token', { TELEGRAM_CHAT_ID: '42' },
    'config: TELEGRAM_BOT_TOKEN=(unset) is invalid: expected TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID set together'],
  ['Telegram token with the "bot" prefix', { TELEGRAM_BOT_TOKEN: `bot${token}`, TELEGRAM_CHAT_ID: '42' },
    'config: TELEGRAM_BOT_TOKEN=<redacted> is invalid: expected a bot token from @BotFather, e.g. 123456789:AAH…, without the "bot" prefix'],
  ['Telegram chat id', { TELEGRAM_BOT_TOKEN: token, TELEGRAM_CHAT_ID: 'my group' },
    'config: TELEGRAM_CHAT_ID="my group" is invalid: expected a numeric chat id (e.g. -1001234567890) or a @channelname'],
  ['Telegram API URL', { TELEGRAM_API_URL: 'api.telegram.org' },
    'config: TELEGRAM_API_URL="api.telegram.org" is invalid: expected an http(s) URL, e.g. https://api.telegram.org'],
  ['SMTP URL scheme (may hold a password: redacted)', { SMTP_URL: 'https://user:pw@mail.example.com', NOTIFY_EMAIL_TO: 'a@example.com' },
    'config: SMTP_URL=<redacted> is invalid: expected an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587'],
  ['SMTP without recipients', { SMTP_URL: 'smtp://mail.example.com:25' },
    'config: NOTIFY_EMAIL_TO=(unset) is invalid: expected a comma-separated list of e-mail addresses (required when SMTP_URL is set)'],
  ['recipients without SMTP', { NOTIFY_EMAIL_TO: 'a@example.com' },
    'config: SMTP_URL=(unset) is invalid: expected an smtp:// or smtps:// URL (NOTIFY_EMAIL_TO is set without it)'],
  ['bad recipient list', { SMTP_URL: 'smtp://mail.example.com', NOTIFY_EMAIL_TO: 'a@example.com, not-an-address' },
    'config: NOTIFY_EMAIL_TO="a@example.com, not-an-address" is invalid: expected a comma-separated list of e-mail addresses, e.g. supervisor@example.com,team@example.com'],
  ['bad sender', { NOTIFY_EMAIL_FROM: 'pbx' },
    'config: NOTIFY_EMAIL_FROM="pbx" is invalid: expected an e-mail address, e.g. pbx@example.com'],
  ['dedupe window', { NOTIFY_DEDUPE_WINDOW: '10m' },
    'config: NOTIFY_DEDUPE_WINDOW="10m" is invalid: expected an ISO-8601 duration, e.g. PT10M (PT0S turns deduplication off)'],
];

for (const [name, env, line] of exact) {
  test(`rejected with one exact line: ${name}`, () => {
    assert.equal(errorOf(env), line);
  });
}

test('several bad variables: one line each, secrets never shown', () => {
  const message = errorOf({
    NOTIFY_WEBHOOK_URL: 'ftp://crm.example.com',
    SLACK_WEBHOOK_URL: 'not a url',
    TELEGRAM_BOT_TOKEN: token,
    SMTP_URL: 'smtp://user:s3cret-pw@mail.example.com',
  });
  assert.deepEqual(message.split('\n'), [
    'config: NOTIFY_WEBHOOK_URL=<redacted> is invalid: expected an http(s) URL, e.g. https://crm.example.com/hooks/abandon',
    'config: SLACK_WEBHOOK_URL=<redacted> is invalid: expected an http(s) URL, e.g. https://hooks.slack.com/services/T000/B000/XXXX',
    'config: NOTIFY_WEBHOOK_SECRET=(unset) is invalid: expected a shared secret of at least 16 characters for signing webhooks (required when NOTIFY_WEBHOOK_URL is set)',
    'config: TELEGRAM_CHAT_ID=(unset) is invalid: expected TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID set together',
    'config: NOTIFY_EMAIL_TO=(unset) is invalid: expected a comma-separated list of e-mail addresses (required when SMTP_URL is set)',
  ]);
  assert.doesNotMatch(message, /s3cret-pw|AAHdq|not a url/);
});
