// Builds the router's lookup from what is configured: memory always, the journal
// when there is one, Elasticsearch when ES_NODE is set.
import type { Client } from '@elastic/elasticsearch';
import type { Journal } from '../../cdr/journal.js';
import type { LastAgentSource } from '../lookup.js';
import { ElasticsearchSource } from './elasticsearch.js';
import { JournalSource } from './journal.js';
import { LayeredSource } from './layered.js';
import { MemoryAffinity, type MemoryAffinityOptions } from './memory.js';

export { ElasticsearchSource, JournalSource, LayeredSource, MemoryAffinity };

export interface LookupOptions {
  journal?: Pick<Journal, 'lastAgentFor'>;
  elasticsearch?: { client: Client; prefix: string; timeoutMs: number };
  memory?: MemoryAffinityOptions;
  journalReserveMs?: number;
  onError?: (source: string, err: unknown) => void;
}

export function createLookup(opts: LookupOptions): { memory: MemoryAffinity; lookup: LastAgentSource } {
  const memory = new MemoryAffinity(opts.memory);
  const lookup = new LayeredSource({
    memory,
    ...(opts.elasticsearch ? { elasticsearch: new ElasticsearchSource(opts.elasticsearch) } : {}),
    ...(opts.journal ? { journal: new JournalSource(opts.journal) } : {}),
    ...(opts.journalReserveMs !== undefined ? { journalReserveMs: opts.journalReserveMs } : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  return { memory, lookup };
}
