// Monitoring of calls and of the router's own outside calls, delivered to the
// customer's platform (MONITOR_FILE subscriptions) through the monitoring outbox:
//   voice_quality  one event per call at hangup, from its CDR (both legs' quality,
//                  the router's decision, agent, DID, queue);
//   routing_api    one event per request to an outside API: every Elasticsearch
//                  request (lookups, bulks, pings, from the client's diagnostic
//                  events) and every abandon-notifier delivery attempt.
// A call that breaks its DID's thresholds also raises an alert on the Slack /
// Telegram / e-mail channels. A subscription that has failed for
// MONITOR_ALERT_AFTER e-mails its contacts, once per outage.
import { randomUUID } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import type { Logger } from '../log.js';
import type { CdrDocument } from '../cdr/schema.js';
import type { NotifyConfig } from '../abandon/notify-config.js';
import type { Notifier } from '../abandon/notifiers/types.js';
import type { MonitorConfig, Subscription } from './config.js';
import { alertTargets, Mailer, type Alert } from './alert-channels.js';
import { esOperation, thresholdBreaches, voiceQualityEvent, type RoutingApiEvent } from './events.js';
import { HttpTarget } from './http-target.js';
import { BoundedMap } from '../bounded-map.js';
import { MonitorOutbox, type DeliveryTarget, type Outage } from './outbox.js';

export interface MonitoringOptions {
  config: MonitorConfig;
  notify: NotifyConfig;
  dataDir: string;
  log: Logger;
  now?: () => number;
  timeoutMs?: number;
  backoffCapMs?: number;
}

export class Monitoring {
  private readonly outbox: MonitorOutbox;
  private readonly subs: Subscription[];
  private readonly alerts: DeliveryTarget[];
  private readonly mailer: Mailer | undefined;
  private readonly now: () => number;

  constructor(private readonly o: MonitoringOptions) {
    this.now = o.now ?? Date.now;
    this.subs = o.config.subscriptions;
    this.alerts = alertTargets(o.notify, { timeoutMs: o.timeoutMs });
    this.mailer = o.notify.SMTP_URL ? new Mailer(o.notify.SMTP_URL, o.notify.NOTIFY_EMAIL_FROM, o.timeoutMs) : undefined;
    const targets: DeliveryTarget[] = [...this.subs.map((s) => new HttpTarget(s, { timeoutMs: o.timeoutMs, now: this.now })), ...this.alerts];
    this.outbox = new MonitorOutbox({
      dataDir: o.dataDir,
      targets,
      log: o.log,
      alertAfterMs: o.config.alertAfterMs,
      onOutage: (out) => this.mailContacts(out),
      now: this.now,
      backoffCapMs: o.backoffCapMs,
    });
    for (const s of this.subs) if (s.contacts.length > 0 && !this.mailer) o.log.warn({ subscription: s.id }, 'monitoring contacts cannot be e-mailed: SMTP_URL is not set');
  }

  start(): void {
    this.outbox.start();
  }

  stop(): Promise<void> {
    this.mailer?.close();
    return this.outbox.stop();
  }

  counts(): ReturnType<MonitorOutbox['counts']> {
    return this.outbox.counts();
  }

  /** A journaled CDR: its voice_quality event, and an alert when it broke its DID's limits. */
  onCdr(doc: CdrDocument): void {
    if (!doc.quality) return;
    const t = this.o.config.thresholds.get(doc.did ?? '') ?? this.o.config.thresholds.get('*');
    const breaches = thresholdBreaches(doc.quality, t);
    const ev = voiceQualityEvent(doc, breaches);
    if (!ev) return;
    const body = JSON.stringify(ev);
    for (const s of this.subs) if (s.type === 'voice_quality') this.outbox.enqueue(s.id, ev.id, ev.type, body);
    if (breaches.length > 0) {
      const alert = qualityAlert(doc, breaches);
      for (const a of this.alerts) this.outbox.enqueue(a.id, `vq-alert-${doc.asterisk.uniqueid}`, 'quality_alert', JSON.stringify(alert));
      this.o.log.warn({ uniqueid: doc.asterisk.uniqueid, did: doc.did, agent: doc.agent, breaches }, 'call broke its voice-quality limits');
    }
  }

  /** One outside API call, as a routing_api event. */
  apiCall(e: Omit<RoutingApiEvent, 'type' | 'id' | '@timestamp'>): void {
    if (!this.subs.some((s) => s.type === 'routing_api')) return;
    const ev: RoutingApiEvent = { type: 'routing_api', id: `api-${randomUUID()}`, '@timestamp': DateTime.fromMillis(this.now(), { zone: 'utc' }).toISO()!, ...e };
    const body = JSON.stringify(ev);
    // After the caller's continuation (a lookup on the call path): the disk write waits.
    setImmediate(() => {
      try {
        for (const s of this.subs) if (s.type === 'routing_api') this.outbox.enqueue(s.id, ev.id, ev.type, body);
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'could not queue a routing_api event');
      }
    });
  }

  /** Reports every request of this Elasticsearch client (lookups, bulks, pings) as routing_api. */
  observeElasticsearch(client: Client, node: string): void {
    // Bounded: a request whose response event never comes must not grow this forever.
    const started = new BoundedMap<unknown, number>(10_000);
    let host = 'elasticsearch';
    try {
      host = new URL(node).host;
    } catch {
      /* keep the generic name */
    }
    client.diagnostic.on('request', (_err, ev) => {
      if (ev) started.set(ev.meta.request.id, this.now());
    });
    client.diagnostic.on('response', (err, ev) => {
      const meta = ev?.meta ?? (err as { meta?: NonNullable<typeof ev>['meta'] } | null)?.meta;
      if (!meta) return;
      const t0 = started.get(meta.request.id);
      started.delete(meta.request.id);
      const method = meta.request.params.method;
      const path = meta.request.params.path;
      const status = ev?.statusCode ?? (err as { meta?: { statusCode?: number } } | null)?.meta?.statusCode ?? undefined;
      this.apiCall({
        target: 'elasticsearch',
        operation: esOperation(method, path),
        endpoint: `${method} ${host}${path.split('?')[0]}`,
        ...(status ? { status_code: status } : {}),
        latency_ms: t0 === undefined ? 0 : this.now() - t0,
        ok: !err,
        ...(err ? { error: err.message.slice(0, 300) } : {}),
      });
    });
  }

  /** The notifier, reporting each delivery attempt as routing_api. */
  observeNotifier(n: Notifier): Notifier {
    const report = (t0: number, err?: unknown) => {
      const msg = err instanceof Error ? err.message : undefined;
      const status = msg ? /\bHTTP (\d{3})\b/.exec(msg)?.[1] : undefined;
      this.apiCall({
        target: n.channel,
        operation: 'deliver',
        endpoint: n.channel,
        ...(status ? { status_code: Number(status) } : !err && n.channel !== 'email' ? { status_code: 200 } : {}),
        latency_ms: this.now() - t0,
        ok: !err,
        ...(msg ? { error: msg.slice(0, 300) } : {}),
      });
    };
    return {
      channel: n.channel,
      send: async (notification, signal) => {
        const t0 = this.now();
        try {
          // The receipt (the receiver's message id) lets the abandon follow-up edit the message later.
          const receipt = await n.send(notification, signal);
          report(t0);
          return receipt;
        } catch (err) {
          report(t0, err);
          throw err;
        }
      },
      ...(n.resolve
        ? {
            resolve: async (r: Parameters<NonNullable<Notifier['resolve']>>[0], signal?: AbortSignal) => {
              const t0 = this.now();
              try {
                await n.resolve!(r, signal);
                report(t0);
              } catch (err) {
                report(t0, err);
                throw err;
              }
            },
          }
        : {}),
      ...(n.close ? { close: () => n.close!() } : {}),
    };
  }

  private async mailContacts(out: Outage): Promise<void> {
    const s = this.subs.find((x) => x.id === out.target);
    if (!s || s.contacts.length === 0 || !this.mailer) return;
    const since = DateTime.fromMillis(out.since, { zone: 'utc' });
    const minutes = Math.round((this.now() - out.since) / 60_000);
    await this.mailer.send(
      s.contacts,
      {
        subject: `sticky-router: monitoring webhook ${s.id} failing for ${minutes} min`,
        text: [
          `The ${s.type} webhook "${s.id}" (${new URL(s.url).origin}) has not accepted deliveries since ${since.toFormat("yyyy-MM-dd HH:mm:ss 'UTC'")}.`,
          `Last error: ${out.lastError}`,
          '',
          'Deliveries are kept and retried; they will arrive once the receiver is back.',
          'You get this message once per outage.',
        ].join('\n'),
      },
      `monitor-outage-${s.id}-${out.since}`,
    );
  }
}

function qualityAlert(doc: CdrDocument, breaches: string[]): Alert {
  const who = doc.customer_e164 ?? doc.customer_raw ?? 'unknown caller';
  return {
    subject: `Poor call quality: ${who}${doc.did ? ` on ${doc.did}` : ''}${doc.agent ? `, agent ${doc.agent}` : ''}`,
    text: [
      `${breaches.join('; ')}.`,
      `Call ${doc.asterisk.uniqueid} ended ${DateTime.fromISO(doc['@timestamp']).toUTC().toFormat("yyyy-MM-dd HH:mm:ss 'UTC'")}, talked ${doc.talk_seconds} s.`,
      `MES ${doc.quality?.mes ?? '-'}, loss ${doc.quality?.loss_pct ?? '-'} %, jitter ${doc.quality?.jitter_ms ?? '-'} ms, codec ${doc.quality?.codec ?? '-'}.`,
    ].join('\n'),
  };
}
