// Elasticsearch as a lookup source: CDRs from every PBX that ships to the cluster.
// On the call path, so: exact `term` filters on keyword fields (never regexp,
// wildcard or query_string: they scan the term dictionary), only the daily
// indices the window can touch, one hit, no total count, a trimmed _source, and
// no retries: the request gets what is left of the call's budget and no more.
import type { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { lookupIndices } from '../../cdr/index-names.js';
import { lookupFields, type CdrDocument } from '../../cdr/schema.js';
import { remainingMs } from '../budget.js';
import type { LastAgentHit, LastAgentSource } from '../lookup.js';

export interface ElasticsearchSourceOptions {
  client: Client;
  /** ES_INDEX_PREFIX. */
  prefix: string;
  /** Used as the request timeout when the signal does not carry a deadline (see routing/budget.ts). LOOKUP_TIMEOUT. */
  timeoutMs: number;
  now?: () => DateTime;
}

type LookupDoc = Pick<CdrDocument, (typeof lookupFields)[number]>;

export class ElasticsearchSource implements LastAgentSource {
  readonly name = 'elasticsearch';
  private readonly now: () => DateTime;

  constructor(private readonly opts: ElasticsearchSourceOptions) {
    this.now = opts.now ?? (() => DateTime.utc());
  }

  async lastAgentFor(e164: string, since: DateTime, signal: AbortSignal): Promise<LastAgentHit | undefined> {
    signal.throwIfAborted();
    const requestTimeout = Math.max(1, remainingMs(signal) ?? this.opts.timeoutMs);
    const res = await this.opts.client.search<LookupDoc>(
      {
        index: lookupIndices(this.opts.prefix, since, this.now()),
        ignore_unavailable: true,
        allow_no_indices: true,
        size: 1,
        track_total_hits: false,
        _source: [...lookupFields],
        sort: [{ '@timestamp': 'desc' }],
        query: {
          bool: {
            filter: [
              { term: { customer_e164: e164 } },
              { term: { talked: true } },
              { range: { '@timestamp': { gte: since.toUTC().toISO() ?? undefined } } },
            ],
          },
        },
      },
      { requestTimeout, maxRetries: 0, signal },
    );
    const doc = res.hits.hits[0]?._source;
    if (!doc?.agent) return undefined;
    const endedAt = DateTime.fromISO(doc['@timestamp'], { zone: 'utc' });
    if (!endedAt.isValid) return undefined;
    return { agent: doc.agent, endedAt, talkSeconds: Number(doc.talk_seconds ?? 0), source: this.name };
  }
}
