// The local journal as a lookup source: always there, answers in microseconds from
// an index on (customer_e164, ts). The fallback when Elasticsearch is down or unset.
import type { DateTime } from 'luxon';
import type { Journal } from '../../cdr/journal.js';
import type { LastAgentHit, LastAgentSource } from '../lookup.js';

export class JournalSource implements LastAgentSource {
  readonly name = 'journal';

  constructor(private readonly journal: Pick<Journal, 'lastAgentFor'>) {}

  async lastAgentFor(e164: string, since: DateTime, signal: AbortSignal): Promise<LastAgentHit | undefined> {
    signal.throwIfAborted();
    const hit = this.journal.lastAgentFor(e164, since);
    return hit ? { ...hit, source: this.name } : undefined;
  }
}
