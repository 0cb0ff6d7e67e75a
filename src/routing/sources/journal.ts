// The local journal as a lookup source: always there, answers in microseconds from
// an index on (customer_e164, ts). The fallback when Elasticsearch is down or unset.
import type { DateTime } from 'luxon';
import type { Journal } from '../../cdr/journal.js';
import type { AgentQuery, LastAgentHit, LastAgentSource } from '../lookup.js';

export class JournalSource implements LastAgentSource {
  readonly name = 'journal';

  constructor(private readonly journal: Pick<Journal, 'lastAgentFor'> & Partial<Pick<Journal, 'lastAgentsFor'>>) {}

  async lastAgentFor(e164: string, since: DateTime, signal: AbortSignal): Promise<LastAgentHit | undefined> {
    signal.throwIfAborted();
    const hit = this.journal.lastAgentFor(e164, since);
    return hit ? { ...hit, source: this.name } : undefined;
  }

  async lastAgentsFor(e164: string, since: DateTime, signal: AbortSignal, q: AgentQuery): Promise<LastAgentHit[]> {
    if (!this.journal.lastAgentsFor) {
      const one = await this.lastAgentFor(e164, since, signal);
      return one ? [one] : [];
    }
    signal.throwIfAborted();
    return this.journal.lastAgentsFor(e164, since, q.limit, q.attempts).map((h) => ({ ...h, source: this.name }));
  }
}
