// Slack incoming webhook: `text` is what the notification and unfurl-less clients
// show; `blocks` lay the same facts out. Slack has no idempotency key, so a retry
// after a lost response can post twice (at least once, never lost).
import { notificationSubject, notificationText, type Notification } from '../notification.js';
import { postJson } from './http.js';
import type { Notifier } from './types.js';

export interface SlackOptions {
  /** The webhook URL is the credential: it is never logged. */
  url: string;
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

export class SlackNotifier implements Notifier {
  readonly channel = 'slack' as const;
  private readonly label: string;

  constructor(private readonly o: SlackOptions) {
    this.label = `slack POST ${new URL(o.url).origin}`;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<void> {
    await postJson(this.o.url, JSON.stringify(slackMessage(n)), { label: this.label, signal, timeoutMs: this.o.timeoutMs });
  }
}
