// pino options for Elastic Common Schema lines (@elastic/ecs-pino-format), so the
// router's logs sit beside the CDRs in Kibana. Redaction is log.ts's, passed in
// unchanged: the same secret and number paths apply to ECS lines.
//
// ECS owns some top-level names as objects (`event`, `agent`, `host`, `source`,
// `url`, ...). A line with `"event":"decision"` next to ecs-pino-format's own
// `"event.dataset"`, or `"host":"127.0.0.1"` next to `"host.hostname"`, is
// refused by Elasticsearch (object mapping vs. concrete value) and dropped by the
// shipper. So a plain value under such a name moves: `event` → `event.action`, a
// string `err` → `error.message`, anything else → `sticky.<name>` (e.g. the
// decision's `agent` becomes `sticky.agent`). Objects under those names are taken
// to be ECS-shaped already and left alone.
import { ecsFormat } from '@elastic/ecs-pino-format';
import type { LoggerOptions } from 'pino';

export const ecsServiceName = 'sticky-router';
/** event.dataset, equal to the data stream's dataset (`logs-sticky_router-*`): a dataset may not contain `-`. */
export const ecsDataset = 'sticky_router';
/** Where plain values under ECS-owned names go. */
export const ecsCustomNamespace = 'sticky';

// Top-level ECS field sets and base fields that are objects in ECS (message, tags
// and labels are not listed: a plain message, a tag list or a labels object fit).
const ecsObjects = new Set([
  'agent', 'as', 'client', 'cloud', 'code_signature', 'container', 'data_stream', 'destination', 'device', 'dll', 'dns',
  'ecs', 'elf', 'email', 'error', 'event', 'faas', 'file', 'geo', 'group', 'hash', 'host', 'http', 'interface', 'log',
  'macho', 'network', 'observer', 'orchestrator', 'organization', 'os', 'package', 'pe', 'process', 'registry', 'related',
  'risk', 'rule', 'server', 'service', 'source', 'span', 'threat', 'tls', 'trace', 'transaction', 'url', 'user',
  'user_agent', 'vlan', 'volume', 'vulnerability', 'x509',
]);

/** The field name a top-level key of ours gets in an ECS line (for Kibana objects and tests). */
export function ecsFieldName(key: string, value: unknown): string {
  if (!ecsObjects.has(key) || isObject(value)) return key;
  if (key === 'event') return 'event.action';
  return `${ecsCustomNamespace}.${key}`;
}

/** Moves plain values out of ECS-owned names (see the header). Pure; exported for tests. */
export function toEcsFields(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'err' && typeof value === 'string') out['error.message'] = value;
    else out[ecsFieldName(key, value)] = value;
  }
  return out;
}

export interface EcsLogOptions {
  level: string;
  /** log.ts's redaction, unchanged. Applied after the field moves: only plain values move, and a plain value holds no redacted sub-path. */
  redact: { paths: string[]; censor?: string };
  serviceVersion?: string;
}

/** Options for `pino(...)` that write ECS lines: `@timestamp`, `log.level`, `message`, `ecs.version`, `service.name`. */
export function ecsLoggerOptions(o: EcsLogOptions): LoggerOptions {
  const ecs = ecsFormat({ serviceName: ecsServiceName, serviceVersion: o.serviceVersion, eventDataset: ecsDataset, convertErr: true, convertReqRes: false, apmIntegration: false });
  const ecsLog = ecs.formatters?.log;
  return {
    ...ecs,
    level: o.level,
    redact: { paths: o.redact.paths, censor: o.redact.censor ?? '[redacted]' },
    formatters: {
      ...ecs.formatters,
      log: (obj) => {
        const moved = toEcsFields(obj);
        return ecsLog ? ecsLog(moved) : moved;
      },
    },
  };
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
