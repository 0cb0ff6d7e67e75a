// Monitoring webhooks to the customer's own platform, from a JSON file named by
// MONITOR_FILE (one endpoint per data type, each with its own authentication and
// contacts), plus MONITOR_ALERT_AFTER. Validated at start-up: a bad file stops the
// router with one line per problem, never echoing a secret or a URL.
//
// {
//   "subscriptions": [
//     { "id": "nice-vq", "type": "voice_quality", "url": "https://mon.example.com/vq",
//       "auth": { "type": "hmac", "consumer_id": "acme-pbx",
//                 "keys": [ { "version": "2", "secret_file": "/etc/sticky-router/vq-v2.key" },
//                           { "version": "1", "secret": "…at least 16 characters…" } ] },
//       "contacts": ["noc@example.com"] },
//     { "id": "nice-api", "type": "routing_api", "url": "https://mon.example.com/api",
//       "auth": { "type": "mtls", "cert_file": "client.pem", "key_file": "client.key", "ca_file": "ca.pem" },
//       "contacts": ["noc@example.com"] }
//   ],
//   "thresholds": { "*": { "mes_below": 60 }, "+442071234567": { "mes_below": 70, "loss_above": 3 } }
// }
// The first key is the one a receiver should prefer (X-Sticky-Key-Version); every
// listed key signs each request, so a receiver can rotate. Relative paths are read
// from the file's own directory.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, configErrorLine, isoDurationMs } from '../env.js';
import type { SigningKey } from './signature.js';

export type DataType = 'voice_quality' | 'routing_api';

export type SubscriptionAuth = { type: 'hmac'; consumerId: string; keys: SigningKey[] } | { type: 'mtls'; cert: string; key: string; ca?: string };

export interface Subscription {
  id: string;
  type: DataType;
  url: string;
  auth: SubscriptionAuth;
  /** Trusted CA for an https receiver with HMAC auth (a private CA). */
  ca?: string;
  contacts: string[];
}

export interface QualityThreshold {
  /** Alert when the call's MES (worse leg) is below this. */
  mesBelow?: number;
  /** Alert when the call's packet loss (worst direction, %) is above this. */
  lossAbove?: number;
}

export interface MonitorConfig {
  subscriptions: Subscription[];
  /** Per DID, `*` for every other DID. */
  thresholds: Map<string, QualityThreshold>;
  alertAfterMs: number;
}

const email = z.string().regex(/^[^<>@\s,]+@[^<>@\s,]+$/, 'an e-mail address');
const secretSource = z.union([z.object({ secret: z.string().min(16, 'a secret of at least 16 characters') }), z.object({ secret_file: z.string().min(1) })]);
const key = z.intersection(z.object({ version: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, 'a key version: letters, digits, . _ -') }), secretSource);
const fileSchema = z.object({
  subscriptions: z
    .array(
      z.object({
        id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'an id: letters, digits, . _ -'),
        type: z.enum(['voice_quality', 'routing_api']),
        url: z.string().refine((v) => {
          try {
            return ['http:', 'https:'].includes(new URL(v).protocol);
          } catch {
            return false;
          }
        }, 'an http(s) URL'),
        auth: z.discriminatedUnion('type', [
          z.object({ type: z.literal('hmac'), consumer_id: z.string().min(1), keys: z.array(key).min(1, 'at least one key') }),
          z.object({ type: z.literal('mtls'), cert_file: z.string().min(1), key_file: z.string().min(1), ca_file: z.string().min(1).optional() }),
        ]),
        ca_file: z.string().min(1).optional(),
        contacts: z.array(email).default([]),
      }),
    )
    .default([]),
  thresholds: z.record(z.string(), z.object({ mes_below: z.number().min(0).max(100).optional(), loss_above: z.number().min(0).max(100).optional() })).default({}),
});

export const monitorConfigNames = ['MONITOR_FILE', 'MONITOR_ALERT_AFTER'] as const;

/** Undefined when MONITOR_FILE is not set (monitoring off). Throws ConfigError. */
export function loadMonitorConfig(env: NodeJS.ProcessEnv = process.env): MonitorConfig | undefined {
  const file = env.MONITOR_FILE || undefined;
  const alertAfterMs = isoDurationMs(env.MONITOR_ALERT_AFTER || 'PT15M');
  if (alertAfterMs === undefined) throw new ConfigError(configErrorLine('MONITOR_ALERT_AFTER', env.MONITOR_ALERT_AFTER, 'an ISO-8601 duration greater than zero, e.g. PT15M'));
  if (!file) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config: MONITOR_FILE=${JSON.stringify(file)} is invalid: expected a readable JSON file (${(err as Error).message.split('\n')[0]})`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `config: MONITOR_FILE ${JSON.stringify(file)} at ${i.path.join('.') || '(top)'} is invalid: expected ${i.message}`).join('\n'));
  }
  const base = dirname(resolve(file));
  const read = (p: string, what: string) => {
    try {
      return readFileSync(resolve(base, p), 'utf8');
    } catch (err) {
      throw new ConfigError(`config: MONITOR_FILE ${JSON.stringify(file)}: cannot read ${what} ${JSON.stringify(p)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const ids = new Set<string>();
  const subscriptions = parsed.data.subscriptions.map((s): Subscription => {
    if (ids.has(s.id)) throw new ConfigError(`config: MONITOR_FILE ${JSON.stringify(file)}: subscription id ${JSON.stringify(s.id)} is used twice`);
    ids.add(s.id);
    const auth: SubscriptionAuth =
      s.auth.type === 'hmac'
        ? {
            type: 'hmac',
            consumerId: s.auth.consumer_id,
            keys: s.auth.keys.map((k) => {
              const secret = 'secret' in k ? k.secret : read(k.secret_file, `the secret of key ${k.version}`).trim();
              if (secret.length < 16) throw new ConfigError(`config: MONITOR_FILE ${JSON.stringify(file)}: key ${k.version} of ${s.id} is shorter than 16 characters`);
              return { version: k.version, secret };
            }),
          }
        : { type: 'mtls', cert: read(s.auth.cert_file, 'the client certificate'), key: read(s.auth.key_file, 'the client key'), ...(s.auth.ca_file ? { ca: read(s.auth.ca_file, 'the CA') } : {}) };
    if (auth.type === 'mtls' && new URL(s.url).protocol !== 'https:') throw new ConfigError(`config: MONITOR_FILE ${JSON.stringify(file)}: subscription ${s.id} uses mtls, which needs an https URL`);
    return { id: s.id, type: s.type, url: s.url, auth, ...(s.ca_file ? { ca: read(s.ca_file, 'the CA') } : {}), contacts: s.contacts };
  });
  const thresholds = new Map<string, QualityThreshold>();
  for (const [did, t] of Object.entries(parsed.data.thresholds)) thresholds.set(did, { ...(t.mes_below !== undefined ? { mesBelow: t.mes_below } : {}), ...(t.loss_above !== undefined ? { lossAbove: t.loss_above } : {}) });
  return { subscriptions, thresholds, alertAfterMs };
}
