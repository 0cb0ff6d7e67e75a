// The two monitoring data types' payloads. Pure builders: the clock is a parameter.
import type { CdrDocument } from '../cdr/schema.js';
import type { CallQuality } from '../cdr/quality.js';
import type { QualityThreshold } from './config.js';

export interface VoiceQualityEvent {
  type: 'voice_quality';
  /** Idempotency key, also the HTTP Idempotency-Key header: one per call. */
  id: string;
  '@timestamp': string;
  call: {
    uniqueid: string;
    linkedid?: string;
    caller?: string;
    did?: string;
    agent?: string;
    queue?: string;
    /** The router's reason code (sticky_agent, no_history, agent_busy, …). */
    decision?: string;
    disposition: string;
    talk_seconds: number;
    direction: CdrDocument['direction'];
  };
  quality: CallQuality;
  /** Set when the call broke the DID's thresholds. */
  breaches?: string[];
}

/** One event per call: the CDR that carries the [sticky-qos] figures; undefined for the others. */
export function voiceQualityEvent(doc: CdrDocument, breaches: string[] = []): VoiceQualityEvent | undefined {
  if (!doc.quality || doc.direction !== 'inbound') return undefined;
  const a = doc.asterisk;
  const queue = a.lastapp === 'Queue' ? a.lastdata.split(',')[0] || undefined : undefined;
  return {
    type: 'voice_quality',
    id: `vq-${a.uniqueid}`,
    '@timestamp': doc['@timestamp'],
    call: {
      uniqueid: a.uniqueid,
      ...(a.linkedid ? { linkedid: a.linkedid } : {}),
      ...(doc.customer_e164 || doc.customer_raw ? { caller: doc.customer_e164 ?? doc.customer_raw } : {}),
      ...(doc.did ? { did: doc.did } : {}),
      ...(doc.agent ? { agent: doc.agent } : {}),
      ...(queue ? { queue } : {}),
      ...(doc.sticky_reason ? { decision: doc.sticky_reason } : {}),
      disposition: a.disposition,
      talk_seconds: doc.talk_seconds,
      direction: doc.direction,
    },
    quality: doc.quality,
    ...(breaches.length > 0 ? { breaches } : {}),
  };
}

/** The DID's limits (or `*`'s) that the call broke, as readable phrases. */
export function thresholdBreaches(q: CallQuality, t: QualityThreshold | undefined): string[] {
  if (!t) return [];
  const out: string[] = [];
  if (t.mesBelow !== undefined && q.mes !== undefined && q.mes < t.mesBelow) out.push(`MES ${q.mes} below ${t.mesBelow}`);
  if (t.lossAbove !== undefined && q.loss_pct !== undefined && q.loss_pct > t.lossAbove) out.push(`packet loss ${q.loss_pct} % above ${t.lossAbove} %`);
  return out;
}

export type ApiTarget = 'elasticsearch' | 'webhook' | 'slack' | 'telegram' | 'email';

export interface RoutingApiEvent {
  type: 'routing_api';
  id: string;
  '@timestamp': string;
  target: ApiTarget;
  /** lookup, bulk, ping, template, … for Elasticsearch; deliver for notifiers. */
  operation: string;
  /** Host (and for ES the method and path without query), never a credential. */
  endpoint: string;
  status_code?: number;
  latency_ms: number;
  ok: boolean;
  error?: string;
}

/** What an Elasticsearch request was for, from its method and path. */
export function esOperation(method: string, path: string): string {
  if (/\/_bulk\b/.test(path)) return 'bulk';
  if (/\/_search\b/.test(path)) return 'lookup';
  if (/\/_index_template\b/.test(path)) return 'template';
  if (/\/_pit\b/.test(path)) return 'point_in_time';
  if (path === '/' && method === 'HEAD') return 'ping';
  return `${method.toLowerCase()} ${path.split('?')[0]!.replace(/\/[^/]*\d{4}\.\d\d\.\d\d[^/]*/g, '/<index>')}`;
}
