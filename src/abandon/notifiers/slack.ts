// Slack, in one of two modes:
//   - incoming webhook (SLACK_WEBHOOK_URL): posts only. The webhook answers "ok" and no
//     message id, so a message cannot be edited later: when the caller is reached, a
//     follow-up message says so.
//   - bot token (SLACK_BOT_TOKEN + SLACK_CHANNEL, scope chat:write): Web API
//     chat.postMessage, which returns the message's channel id and ts; both are kept in
//     the outbox, so that chat.update can mark the alert resolved in place, after a
//     restart too.
// `text` is what the notification and unfurl-less clients show; `blocks` lay the same
// facts out. Slack has no idempotency key, so a retry after a lost response can post
// twice (at least once, never lost).
import { notificationSubject, notificationText, type Notification } from '../notification.js';
import { resolutionFollowUpText, resolutionLine, resolvedMessageText, type ResolutionNotice } from '../resolution-notice.js';
import { postJson } from './http.js';
import { DeliveryError, type DeliveryReceipt, type Notifier } from './types.js';

export interface SlackOptions {
  /** The webhook URL is the credential: it is never logged. */
  url: string;
  timeoutMs?: number;
}

export interface SlackBotOptions {
  /** xoxb-… bot token; sent only in the Authorization header. */
  token: string;
  /** Channel id (C…) or name; chat.update needs the id, which chat.postMessage returns. */
  channel: string;
  /** https://slack.com/api (tests point it at a local receiver). */
  apiUrl: string;
  timeoutMs?: number;
}

/** Slack mrkdwn treats &, < and > as markup. */
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackMessage(n: Notification): { text: string; blocks: unknown[] } {
  const [, ...rest] = notificationText(n).split('\n');
  return {
    text: notificationText(n),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escape(notificationSubject(n))}*` } },
      { type: 'section', text: { type: 'mrkdwn', text: escape(rest.join('\n').trim()).slice(0, 2900) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: escape(`sticky-router · ${n.id}`) }] },
    ],
  };
}

/** The alert as edited once the caller was reached: the resolution on top, the original struck through. */
export function slackResolvedMessage(r: ResolutionNotice, n: Notification): { text: string; blocks: unknown[] } {
  const [, ...rest] = notificationText(n).split('\n');
  return {
    text: resolvedMessageText(r, n),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `:white_check_mark: *${escape(resolutionLine(r))}*` } },
      { type: 'section', text: { type: 'mrkdwn', text: `~${escape(notificationSubject(n))}~\n${escape(rest.join('\n').trim()).slice(0, 2800)}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: escape(`sticky-router · ${n.id} · resolved`) }] },
    ],
  };
}

export class SlackNotifier implements Notifier {
  readonly channel = 'slack' as const;
  private readonly label: string;

  constructor(private readonly o: SlackOptions) {
    this.label = `slack POST ${new URL(o.url).origin}`;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<void> {
    await postJson(this.o.url, JSON.stringify(slackMessage(n)), { label: this.label, signal, timeoutMs: this.o.timeoutMs });
  }

  /** An incoming webhook cannot edit: a follow-up message closes the alert. */
  async resolve(r: ResolutionNotice, signal?: AbortSignal): Promise<void> {
    const text = resolutionFollowUpText(r);
    await postJson(this.o.url, JSON.stringify({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:white_check_mark: ${escape(text)}` } }] }), {
      label: this.label,
      signal,
      timeoutMs: this.o.timeoutMs,
    });
  }
}

interface SlackRef {
  channel: string;
  ts: string;
}

// Web API errors come as HTTP 200 {"ok":false,"error":"…"}. Those an operator fixes
// without the message changing (token, scopes, bot not in the channel) are retried,
// like HTTP 401/403; a request Slack will never take is permanent.
const permanentErrors = new Set(['msg_too_long', 'no_text', 'invalid_blocks', 'invalid_blocks_format', 'invalid_arguments', 'invalid_json', 'json_not_object', 'too_many_attachments', 'message_not_found', 'cant_update_message', 'edit_window_closed', 'is_inactive']);

export class SlackBotNotifier implements Notifier {
  readonly channel = 'slack' as const;
  private readonly base: string;
  private readonly label: string;

  constructor(private readonly o: SlackBotOptions) {
    this.base = o.apiUrl.replace(/\/+$/, '');
    this.label = `slack ${new URL(o.apiUrl).origin}`;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<DeliveryReceipt> {
    const res = await this.call('chat.postMessage', { channel: this.o.channel, ...slackMessage(n), unfurl_links: false }, signal);
    const ref: SlackRef = { channel: typeof res.channel === 'string' ? res.channel : this.o.channel, ts: typeof res.ts === 'string' ? res.ts : '' };
    return ref.ts ? { ref: JSON.stringify(ref) } : {};
  }

  /** chat.update on every message sent about the alert. A message deleted meanwhile is skipped. */
  async resolve(r: ResolutionNotice, signal?: AbortSignal): Promise<void> {
    for (const m of r.messages) {
      if (!m.ref) continue;
      const ref = JSON.parse(m.ref) as SlackRef;
      try {
        await this.call('chat.update', { channel: ref.channel, ts: ref.ts, ...slackResolvedMessage(r, m.notification) }, signal);
      } catch (err) {
        if (err instanceof DeliveryError && err.permanent && /message_not_found|cant_update_message|edit_window_closed/.test(err.message)) continue;
        throw err;
      }
    }
  }

  private async call(method: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const { body: text } = await postJson(`${this.base}/${method}`, JSON.stringify(body), {
      label: `${this.label} ${method}`,
      signal,
      timeoutMs: this.o.timeoutMs,
      headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json; charset=utf-8' },
    });
    let res: Record<string, unknown>;
    try {
      res = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new DeliveryError(`${this.label} ${method}: not a Slack API answer (${text.slice(0, 100)})`, false);
    }
    if (res.ok !== true) {
      const error = typeof res.error === 'string' ? res.error : 'unknown_error';
      throw new DeliveryError(`${this.label} ${method}: ${error}`, permanentErrors.has(error));
    }
    return res;
  }
}
