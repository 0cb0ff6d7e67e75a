// The index template for the CDR daily indices. Without it, dynamic mapping turns
// "+380…" into analysed text (a `term` lookup then never matches) and "0961…" into
// a long (the leading zero is lost). Installing is idempotent: the template
// carries a hash of its own body in _meta, so an unchanged template is left alone.
import { createHash } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import type { estypes } from '@elastic/elasticsearch';
import { describeEsError } from './es-client.js';

export type IndexTemplateBody = Omit<estypes.IndicesPutIndexTemplateRequest, 'name' | 'create' | 'master_timeout' | 'cause'>;

export interface TemplateSpec {
  name: string;
  body: IndexTemplateBody;
}

export interface TemplateResult {
  name: string;
  patterns: string[];
  action: 'created' | 'updated' | 'unchanged';
}

/** Raised when the cluster answered but refused (401, 403, 400): the message names its reason. */
export class TemplateRefusedError extends Error {}

const keyword = { type: 'keyword' } as const;
const date = { type: 'date' } as const;
const integer = { type: 'integer' } as const;
const float = { type: 'float' } as const;

// Voice quality (quality.ts): one shape per direction of each leg.
const stream = { properties: { packets: integer, lost: integer, loss_pct: float, jitter_ms: float, jitter_max_ms: float, mes: float, mes_min: float } } as const;
const leg = { properties: { rx: stream, tx: stream, rtt_ms: float, codec: keyword, hangup_cause: integer } } as const;
const qualityMapping = {
  properties: {
    caller: leg,
    agent: leg,
    mes: float,
    loss_pct: float,
    jitter_ms: float,
    rtt_ms: float,
    codec: keyword,
    setup_ms: integer,
    sip_cause: keyword,
    hangup_cause: integer,
    hangup_by: keyword,
    hangup_source: keyword,
    trunk: keyword,
  },
} as const;

// Shared by the CDR and abandon indices.
const dailyIndexSettings = {
  // Explicit: an idle shard otherwise skips scheduled refreshes and a new record stays unsearchable.
  'index.refresh_interval': '1s',
  // Newest first on disk: the lookup (sort @timestamp desc, size 1) can stop early.
  'index.sort.field': '@timestamp',
  'index.sort.order': 'desc',
} as const;
const keywordMappings = {
  dynamic: true,
  // Unknown strings (e.g. a future field) stay exact keywords, never analysed text.
  date_detection: false,
  dynamic_templates: [{ strings_as_keywords: { match_mapping_type: 'string' as const, mapping: { type: 'keyword' as const, ignore_above: 1024 } } }],
};

/**
 * The CDR template for `${prefix}-*`. Priority 200 so it wins over the stack's
 * built-in templates (priority 100) should a prefix overlap them. The abandon
 * records' indices (`${prefix}-abandons-*`) will get their own template at a
 * higher priority (only the highest-priority template applies); add it next to
 * this one and install both from the setup command.
 */
export function cdrTemplate(prefix: string): TemplateSpec {
  const body: IndexTemplateBody = {
    index_patterns: [`${prefix}-*`],
    priority: 200,
    template: {
      settings: dailyIndexSettings,
      mappings: {
        ...keywordMappings,
        properties: {
          id: keyword,
          '@timestamp': date,
          direction: keyword,
          customer_e164: keyword,
          customer_raw: keyword,
          agent: keyword,
          pbx: keyword,
          agent_pbx: keyword,
          talk_seconds: integer,
          talked: { type: 'boolean' },
          attempt: { type: 'boolean' },
          sticky_reason: keyword,
          did: keyword,
          recording: { properties: { file: keyword, duration_s: { type: 'float' }, bytes: { type: 'long' }, deleted_at: date } },
          quality: qualityMapping,
          asterisk: {
            properties: {
              src: keyword,
              dst: keyword,
              dcontext: keyword,
              clid: keyword,
              channel: keyword,
              dstchannel: keyword,
              lastapp: keyword,
              lastdata: keyword,
              start: date,
              answer: date,
              end: date,
              duration: integer,
              billsec: integer,
              disposition: keyword,
              amaflags: keyword,
              accountcode: keyword,
              uniqueid: keyword,
              linkedid: keyword,
              userfield: keyword,
            },
          },
        },
      },
    },
  };
  return { name: `${prefix}-sticky-router`, body };
}

/**
 * Abandoned calls in `${prefix}-abandons-*`. That pattern is also matched by the
 * CDR template's `${prefix}-*`; only the highest-priority template applies, so this
 * one is 201.
 */
export function abandonTemplate(prefix: string): TemplateSpec {
  const body: IndexTemplateBody = {
    index_patterns: [`${prefix}-abandons-*`],
    priority: 201,
    template: {
      settings: dailyIndexSettings,
      mappings: {
        ...keywordMappings,
        properties: {
          id: keyword,
          '@timestamp': date,
          source: keyword,
          caller: { properties: { raw: keyword, e164: keyword } },
          customer_e164: keyword,
          customer_raw: keyword,
          agent: keyword,
          sticky_agent: keyword,
          did: keyword,
          queue: keyword,
          waited_seconds: integer,
          position: integer,
          original_position: integer,
          uniqueid: keyword,
          linkedid: keyword,
          late: { type: 'boolean' },
          short: { type: 'boolean' },
          resolved_at: date,
          resolved_by: keyword,
          resolved_how: keyword,
        },
      },
    },
  };
  return { name: `${prefix}-abandons-sticky-router`, body };
}

/**
 * The shared index of agents' current states (src/pbx/agent-state-doc.ts): one
 * document per agent and PBX, overwritten in place. Also matched by `${prefix}-*`,
 * so a higher priority; no index sort (documents are read by id).
 */
export function agentStatesTemplate(prefix: string): TemplateSpec {
  const body: IndexTemplateBody = {
    index_patterns: [`${prefix}-agent-states`],
    priority: 202,
    template: {
      settings: { 'index.refresh_interval': '1s' },
      mappings: {
        ...keywordMappings,
        properties: {
          '@timestamp': date,
          pbx: keyword,
          agent: keyword,
          state: keyword,
          queues: { properties: { queue: keyword, state: keyword, paused_reason: keyword } },
          expires_at: date,
        },
      },
    },
  };
  return { name: `${prefix}-agent-states-sticky-router`, body };
}

/** Every template the router's indices need, for `setup` and start-up. */
export function allTemplates(prefix: string): TemplateSpec[] {
  return [cdrTemplate(prefix), abandonTemplate(prefix), agentStatesTemplate(prefix)];
}

export async function installTemplates(client: Client, prefix: string): Promise<TemplateResult[]> {
  const out: TemplateResult[] = [];
  for (const spec of allTemplates(prefix)) out.push(await installTemplate(client, prefix, spec));
  return out;
}

/** Installs (or updates) the template; returns what it did. Throws TemplateRefusedError when the cluster refuses. */
export async function installTemplate(client: Client, prefix: string, spec: TemplateSpec = cdrTemplate(prefix)): Promise<TemplateResult> {
  const hash = templateHash(spec);
  const patterns = [spec.body.index_patterns ?? []].flat();
  try {
    const existing = await client.indices.getIndexTemplate({ name: spec.name }, { ignore: [404] });
    const current = existing.index_templates?.find((t) => t.name === spec.name);
    const currentHash = (current?.index_template._meta as { hash?: unknown } | undefined)?.hash;
    if (current && currentHash === hash) return { name: spec.name, patterns, action: 'unchanged' };
    await client.indices.putIndexTemplate({ name: spec.name, ...spec.body, _meta: { ...spec.body._meta, managed_by: 'sticky-router', hash } });
    return { name: spec.name, patterns, action: current ? 'updated' : 'created' };
  } catch (err) {
    const status = (err as { meta?: { statusCode?: number } }).meta?.statusCode;
    if (status === 400 || status === 401 || status === 403) {
      throw new TemplateRefusedError(`Elasticsearch refused index template ${spec.name} (${patterns.join(', ')}): ${describeEsError(err)}`, { cause: err });
    }
    throw err;
  }
}

/** The hash an installed template carries in `_meta.hash` when it is this version's. */
export function templateHash(spec: TemplateSpec): string {
  return createHash('sha256').update(JSON.stringify(spec.body)).digest('hex').slice(0, 16);
}
