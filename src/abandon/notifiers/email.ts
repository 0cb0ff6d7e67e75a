// E-mail over SMTP with nodemailer. The Message-ID is derived from the idempotency
// key, so a retry after a lost "250 OK" produces the same Message-ID and mail
// clients and archives treat the two copies as one; a follow-up threads under the
// first message (In-Reply-To). SMTP replies decide the retry policy: 5xx is
// permanent (nodemailer's err.permanent) except authentication, which an operator
// fixes; 4xx and connection failures are retried.
import { createRequire } from 'node:module';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { notificationId, notificationSubject, notificationText, type Notification } from '../notification.js';
import { resolutionFollowUpText, resolutionLine, type ResolutionNotice } from '../resolution-notice.js';
import { DeliveryError, SEND_TIMEOUT_MS, type Notifier } from './types.js';

/**
 * The SMTP transport both e-mail senders use (abandon notifications, monitoring alerts), with
 * one timeout for every step. nodemailer is loaded here, when an SMTP channel is configured:
 * it is ~3 MB of a router that sends no mail.
 */
export function smtpTransport(url: string, timeoutMs: number): Transporter<SMTPTransport.SentMessageInfo> {
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
  return nodemailer.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs, dnsTimeout: timeoutMs });
}

export interface EmailOptions {
  /** smtp://user:pass@host:587 or smtps://…; never logged (it may hold a password). */
  smtpUrl: string;
  from: string;
  to: string[];
  timeoutMs?: number;
  /** NOTIFY_EMAIL_RESOLVED: a follow-up in the same thread when the caller is reached. */
  resolved?: boolean;
}

type SmtpError = Error & { code?: string; responseCode?: number; permanent?: boolean; response?: string };

/** An SMTP failure as a DeliveryError: 5xx is permanent, except authentication (an operator fixes it); 4xx and connection failures are retried. */
export function smtpDeliveryError(label: string, err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as SmtpError;
  const auth = e.code === 'EAUTH' || e.code === 'ENOAUTH';
  const what = e.responseCode ? `SMTP ${e.responseCode} ${e.response ?? e.message}` : `${e.code ?? 'error'} ${e.message}`;
  return new DeliveryError(`${label}: ${what.replace(/\s+/g, ' ').slice(0, 300)}`, e.permanent === true && !auth);
}

export class EmailNotifier implements Notifier {
  readonly channel = 'email' as const;
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;
  private readonly domain: string;
  private readonly label: string;

  constructor(private readonly o: EmailOptions) {
    const t = o.timeoutMs ?? SEND_TIMEOUT_MS;
    this.transport = smtpTransport(o.smtpUrl, t);
    this.domain = /@([^>\s]+)>?\s*$/.exec(o.from)?.[1] ?? 'sticky-router.invalid';
    this.label = `smtp ${new URL(o.smtpUrl).host}`;
  }

  messageId(key: string): string {
    return `<${key}@${this.domain}>`;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<void> {
    const first = n.seq > 1 ? this.messageId(notificationId(n.groupId, 1)) : undefined;
    await this.mail(n.id, notificationSubject(n), notificationText(n), first, signal);
  }

  /** Only with NOTIFY_EMAIL_RESOLVED: a reply to the first alert ("Resolved: …"). */
  async resolve(r: ResolutionNotice, signal?: AbortSignal): Promise<void> {
    if (!this.o.resolved) return;
    const first = this.messageId(notificationId(r.groupId, 1));
    await this.mail(r.id, resolutionLine(r), resolutionFollowUpText(r), first, signal);
  }

  private async mail(key: string, subject: string, text: string, inReplyTo: string | undefined, signal?: AbortSignal): Promise<void> {
    try {
      const info = await this.transport.sendMail({
        from: this.o.from,
        to: this.o.to,
        subject,
        text,
        messageId: this.messageId(key),
        inReplyTo,
        references: inReplyTo,
        headers: { 'X-Sticky-Idempotency-Key': key },
        signal,
      });
      if (info.accepted.length === 0) throw new DeliveryError(`${this.label}: every recipient was rejected`, true);
    } catch (err) {
      throw smtpDeliveryError(this.label, err);
    }
  }

  close(): void {
    this.transport.close();
  }
}
