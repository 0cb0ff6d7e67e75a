// The Elasticsearch client, built from Config. Its defaults suit background work
// (shipping, export, setup): 10 s per request and 2 retries on connection errors,
// instead of the library's 10 minutes and 3 retries. The call path overrides
// both per request (see routing/sources/elasticsearch.ts).
import { createRequire } from 'node:module';
import type { Client, ClientOptions } from '@elastic/elasticsearch';
import type { Config } from '../config.js';
import { safeUrl } from '../log.js';

export type EsConfig = Pick<Config, 'ES_NODE' | 'ES_API_KEY' | 'ES_USERNAME' | 'ES_PASSWORD'>;

/** Undefined when ES_NODE is unset: the router then runs on the local journal alone. */
export function createEsClient(config: EsConfig, overrides: Partial<ClientOptions> = {}): Client | undefined {
  if (!config.ES_NODE) return undefined;
  const auth: ClientOptions['auth'] = config.ES_API_KEY
    ? { apiKey: config.ES_API_KEY }
    : config.ES_USERNAME && config.ES_PASSWORD
      ? { username: config.ES_USERNAME, password: config.ES_PASSWORD }
      : undefined;
  // Loaded only with ES_NODE set: the client and its HTTP stack are ~17 MB of a journal-only router.
  const { Client: EsClient } = createRequire(import.meta.url)('@elastic/elasticsearch') as typeof import('@elastic/elasticsearch');
  return new EsClient({
    node: config.ES_NODE,
    ...(auth ? { auth } : {}),
    name: 'sticky-router',
    requestTimeout: 10_000,
    maxRetries: 2,
    ...overrides,
  });
}

/** ES_NODE without any credentials embedded in it, for log lines and error messages. */
export function esTarget(config: Pick<Config, 'ES_NODE'>): string {
  return config.ES_NODE ? safeUrl(config.ES_NODE) : '(ES_NODE unset)';
}

/** A one-line description of a client error: the cluster's error type and reason when it answered. */
export function describeEsError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const meta = (err as { meta?: { statusCode?: number; body?: unknown } }).meta;
  const body = meta?.body as { error?: { type?: string; reason?: string } | string } | undefined;
  const cause = typeof body?.error === 'string' ? body.error : body?.error ? `${body.error.type ?? 'error'}: ${body.error.reason ?? ''}`.trim() : undefined;
  const status = meta?.statusCode ? `HTTP ${meta.statusCode}` : undefined;
  return [err.name, status, cause ?? err.message].filter(Boolean).join(' ');
}
