// Local receivers for every abandon notifier, for integration tests against the
// real router: a signed-webhook receiver that verifies X-Sticky-Signature the way
// a customer's endpoint would, a fake Slack incoming webhook, a fake Telegram Bot
// API (TELEGRAM_API_URL points here), and an SMTP server (smtp-server). All bind
// 127.0.0.1; inside the harness's network namespace that loopback is private.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from './http-receiver.js';

export { startHttpReceiver, unusedPort, type HttpReceiver, type ReceivedRequest } from './http-receiver.js';
import { SMTPServer } from 'smtp-server';

export interface SignatureCheck {
  ok: boolean;
  why?: string;
  timestamp?: number;
}

/**
 * What a receiver does with a signed webhook: recompute
 * `v1=<hex HMAC-SHA256(secret, "<X-Sticky-Timestamp>.<raw body>")>` and compare in
 * constant time; a timestamp further than `toleranceS` from now is a replay.
 */
export function verifyWebhook(secret: string, req: Pick<ReceivedRequest, 'headers' | 'body'>, opts: { toleranceS?: number; nowS?: number } = {}): SignatureCheck {
  const ts = String(req.headers['x-sticky-timestamp'] ?? '');
  const sig = String(req.headers['x-sticky-signature'] ?? '');
  if (!/^\d+$/.test(ts)) return { ok: false, why: `X-Sticky-Timestamp ${JSON.stringify(ts)} is not unix seconds` };
  const m = /^v1=([0-9a-f]{64})$/.exec(sig);
  if (!m) return { ok: false, why: `X-Sticky-Signature ${JSON.stringify(sig)} is not v1=<64 lowercase hex>` };
  const expected = createHmac('sha256', secret).update(`${ts}.${req.body}`).digest();
  const given = Buffer.from(m[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: 'HMAC mismatch', timestamp: Number(ts) };
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(ts)) > (opts.toleranceS ?? 300)) return { ok: false, why: `timestamp ${ts} is ${now - Number(ts)} s from now`, timestamp: Number(ts) };
  return { ok: true, timestamp: Number(ts) };
}

export interface MailSeen {
  from: string;
  to: string[];
  raw: string;
  at: number;
}

export interface SmtpReceiver {
  url: string;
  port: number;
  mails: MailSeen[];
  close(): Promise<void>;
}

/** An SMTP server on 127.0.0.1 (no TLS, no auth) that keeps every message. */
export async function startSmtpReceiver(port = 0): Promise<SmtpReceiver> {
  const mails: MailSeen[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const p = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${p}`, port: p, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A header of a raw RFC 5322 message, unfolded (no MIME decoding). */
export function mailHeader(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  return new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'mi').exec(head)?.[1]?.replace(/\r?\n[ \t]+/g, ' ');
}

/** The text body of a plain (or quoted-printable) message, decoded enough for `includes` checks. */
export function mailText(raw: string): string {
  const body = raw.split(/\r?\n\r?\n/).slice(1).join('\n\n');
  return /quoted-printable/i.test(mailHeader(raw, 'Content-Transfer-Encoding') ?? '')
    ? body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    : body;
}

export interface NotifyReceivers {
  webhook: HttpReceiver;
  slack: HttpReceiver;
  telegram: HttpReceiver;
  smtp: SmtpReceiver;
  secret: string;
  botToken: string;
  chatId: string;
  emailTo: string[];
  /** The router's environment that turns every channel on, pointed at these receivers. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** One receiver per notifier and the environment that points the router at them. */
export async function startNotifyReceivers(): Promise<NotifyReceivers> {
  const secret = 'it-webhook-secret-0123456789abcdef';
  const botToken = '123456789:AAH-integration_test-token';
  const chatId = '-1001234567890';
  const emailTo = ['lead@example.com', 'team@example.com'];
  const [webhook, slack, telegram, smtp] = await Promise.all([startHttpReceiver(), startHttpReceiver(), startHttpReceiver(), startSmtpReceiver()]);
  return {
    webhook,
    slack,
    telegram,
    smtp,
    secret,
    botToken,
    chatId,
    emailTo,
    env: {
      NOTIFY_WEBHOOK_URL: `${webhook.url}/hooks/abandon`,
      NOTIFY_WEBHOOK_SECRET: secret,
      SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/XXXX`,
      TELEGRAM_BOT_TOKEN: botToken,
      TELEGRAM_CHAT_ID: chatId,
      TELEGRAM_API_URL: telegram.url,
      SMTP_URL: smtp.url,
      NOTIFY_EMAIL_FROM: 'PBX <pbx@example.com>',
      NOTIFY_EMAIL_TO: emailTo.join(','),
    },
    async close() {
      await Promise.all([webhook.close(), slack.close(), telegram.close(), smtp.close()]);
    },
  };
}

/** Timeline of one sipp call from its -trace_msg file: every message sent or received, in order. */
export interface SipEvent {
  dir: 'sent' | 'received';
  firstLine: string;
  cseq: string;
  /** Epoch ms of sipp's timestamp line (read as UTC; only differences matter). */
  at: number;
}

export function sipTimeline(trace: string): SipEvent[] {
  const out: SipEvent[] = [];
  const blocks = trace.split(/^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$/m);
  for (let i = 1; i < blocks.length; i += 2) {
    const stamp = blocks[i]!;
    const lines = (blocks[i + 1] ?? '').split('\n').map((l) => l.replace(/\r$/, ''));
    const head = lines.find((l) => l.trim()) ?? '';
    const dir = /message sent/.test(head) ? 'sent' : /message received/.test(head) ? 'received' : undefined;
    if (!dir) continue;
    const start = lines.findIndex((l) => /^(?:[A-Z]+ sip:|SIP\/2\.0 )/.test(l));
    if (start < 0) continue;
    const cseq = lines.slice(start + 1).find((l) => /^CSeq:/i.test(l))?.replace(/^CSeq:\s*/i, '') ?? '';
    out.push({ dir, firstLine: lines[start]!, cseq, at: Date.parse(stamp.replace(' ', 'T') + 'Z') });
  }
  return out;
}
