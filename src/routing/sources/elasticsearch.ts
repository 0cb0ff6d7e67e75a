// Elasticsearch as a lookup source: CDRs from every PBX that ships to the cluster
// (each names the agent's PBX: a caller who talked to 1002 on pbx-a is found from pbx-b).
// On the call path, so: exact `term` filters on keyword fields (never regexp,
// wildcard or query_string: they scan the term dictionary), only the daily
// indices the window can touch, one hit, no total count, a trimmed _source, and
// no retries: the request gets what is left of the call's budget and no more.
// Sent with the client's transport.request rather than client.search: the search
// wrapper sorts every parameter into body or query string and opens an
// OpenTelemetry span per request (a no-op tracer unless the process registers
// one); on a lookup that waits ~1 ms for the cluster, that was a third of the
// client's own time. The transport still does the product check, the connection
// pool, the per-request timeout and abort, and the library's errors.
import type { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { lookupIndicesAt } from '../../cdr/index-names.js';
import { lookupFields, type CdrDocument } from '../../cdr/schema.js';
import { remainingMs } from '../budget.js';
import { distinctAgents, type AgentQuery, type LastAgentHit, type LastAgentSource } from '../lookup.js';

export interface ElasticsearchSourceOptions {
  client: Client;
  /** ES_INDEX_PREFIX. */
  prefix: string;
  /** Used as the request timeout when the signal does not carry a deadline (see routing/budget.ts). LOOKUP_TIMEOUT. */
  timeoutMs: number;
  now?: () => DateTime;
}

type LookupDoc = Pick<CdrDocument, (typeof lookupFields)[number]>;
interface LookupResponse {
  hits?: { hits?: { _source?: LookupDoc }[] };
}

export class ElasticsearchSource implements LastAgentSource {
  readonly name = 'elasticsearch';
  private readonly now: () => DateTime;

  constructor(private readonly opts: ElasticsearchSourceOptions) {
    this.now = opts.now ?? (() => DateTime.utc());
  }

  async lastAgentFor(e164: string, since: DateTime, signal: AbortSignal): Promise<LastAgentHit | undefined> {
    return (await this.lastAgentsFor(e164, since, signal, { limit: 1, attempts: false }))[0];
  }

  /**
   * Distinct agents from the caller's most recent records in the window (talks, and
   * attempts when asked): one small request, deduplicated here. `collapse` on agent
   * would do it server-side; the 20 newest records cover any realistic window.
   */
  async lastAgentsFor(e164: string, since: DateTime, signal: AbortSignal, q: AgentQuery): Promise<LastAgentHit[]> {
    signal.throwIfAborted();
    const requestTimeout = Math.max(1, remainingMs(signal) ?? this.opts.timeoutMs);
    const learned = q.attempts ? { bool: { should: [{ term: { talked: true } }, { term: { attempt: true } }], minimum_should_match: 1 } } : { term: { talked: true } };
    const sinceMs = since.toMillis();
    const indices = lookupIndicesAt(this.opts.prefix, sinceMs, this.now().toMillis());
    const res = await this.opts.client.transport.request<LookupResponse>(
      {
        method: 'POST',
        path: `/${encodeURIComponent(indices.join(','))}/_search`,
        // filter_path: only the hits' _source comes back (no _shards, _index, _id, sort values).
        querystring: { ignore_unavailable: true, allow_no_indices: true, filter_path: 'hits.hits._source' },
        body: {
          size: q.limit === 1 ? 1 : Math.max(20, q.limit * 5),
          track_total_hits: false,
          _source: lookupFields,
          sort: [{ '@timestamp': 'desc' }],
          query: {
            bool: {
              filter: [{ term: { customer_e164: e164 } }, learned, { range: { '@timestamp': { gte: new Date(sinceMs).toISOString() } } }],
            },
          },
        },
      },
      { requestTimeout, maxRetries: 0, signal },
    );
    const hits: LastAgentHit[] = [];
    // With filter_path, a search without hits answers {}.
    for (const h of res.hits?.hits ?? []) {
      const doc = h._source;
      if (!doc?.agent) continue;
      // Date.parse, not DateTime.fromISO: the shipper writes ISO 8601 UTC, and luxon's
      // parser is ~10x the cost on a path that waits for nothing else.
      const endedAt = DateTime.fromMillis(Date.parse(doc['@timestamp']), { zone: 'utc' });
      if (!endedAt.isValid) continue;
      hits.push({ agent: doc.agent, endedAt, talkSeconds: Number(doc.talk_seconds ?? 0), source: this.name, ...(doc.attempt ? { via: 'attempt' as const } : {}), ...(doc.agent_pbx ? { pbx: doc.agent_pbx } : {}) });
    }
    return distinctAgents(hits, q.limit);
  }
}
