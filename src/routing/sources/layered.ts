// The lookup the router uses: memory → Elasticsearch → journal.
// - Memory and Elasticsearch both answer and the more recent conversation wins:
//   memory knows the last few minutes (not yet searchable), ES knows every PBX.
// - When neither has a hit, or ES fails or is not configured, the local journal
//   answers (compared with memory by end time, too).
// - The call's budget is respected: when the signal carries its deadline, ES gets
//   the budget minus a small reserve so a slow cluster still leaves time for the
//   journal; when the call's signal itself aborts, the lookup rejects.
import type { DateTime } from 'luxon';
import { budgetSignal, remainingMs } from '../budget.js';
import { agentsFrom, distinctAgents, type AgentQuery, type LastAgentHit, type LastAgentSource } from '../lookup.js';

export interface LayeredSourceOptions {
  memory?: LastAgentSource;
  elasticsearch?: LastAgentSource;
  journal?: LastAgentSource;
  /** Budget kept back from Elasticsearch for the journal. Default 25 ms. */
  journalReserveMs?: number;
  /** A layer failed (the lookup carried on): for logs and metrics. */
  onError?: (source: string, err: unknown) => void;
}

export class LayeredSource implements LastAgentSource {
  readonly name = 'layered';
  private readonly reserveMs: number;

  constructor(private readonly opts: LayeredSourceOptions) {
    this.reserveMs = opts.journalReserveMs ?? 25;
  }

  async lastAgentFor(e164: string, since: DateTime, signal: AbortSignal): Promise<LastAgentHit | undefined> {
    return (await this.lastAgentsFor(e164, since, signal, { limit: 1, attempts: false }))[0];
  }

  /** The same layering for ranked agents: each layer's list, merged newest first, one per agent. */
  async lastAgentsFor(e164: string, since: DateTime, signal: AbortSignal, q: AgentQuery): Promise<LastAgentHit[]> {
    signal.throwIfAborted();
    const { memory, elasticsearch, journal } = this.opts;
    const m = memory ? await this.tryLayer(memory, e164, since, signal, q) : [];
    let esError: unknown;

    if (elasticsearch) {
      const remaining = remainingMs(signal);
      const esBudget = remaining === undefined || !journal ? undefined : remaining - this.reserveMs;
      if (esBudget === undefined || esBudget > 0) {
        const esSignal = esBudget === undefined ? signal : budgetSignal(esBudget, signal);
        try {
          const e = await agentsFrom(elasticsearch, e164, since, esSignal, q);
          if (m.length > 0 || e.length > 0) return distinctAgents([...m, ...e], q.limit);
        } catch (err) {
          signal.throwIfAborted();
          esError = err;
          this.opts.onError?.(elasticsearch.name, err);
        }
      } else esError = new Error('no time left for Elasticsearch');
    }

    signal.throwIfAborted();
    const hits = journal ? distinctAgents([...m, ...(await this.tryLayer(journal, e164, since, signal, q))], q.limit) : m;
    // The local layers know only this node's calls: when the cluster-wide truth could
    // not be asked and they know nothing, that is a failed lookup, not "no history".
    if (hits.length === 0 && esError !== undefined) throw new Error(`elasticsearch: ${esError instanceof Error ? esError.message : JSON.stringify(esError)}; no local record of the caller`);
    return hits;
  }

  /** A failing local layer is a miss, not a failed lookup. */
  private async tryLayer(layer: LastAgentSource, e164: string, since: DateTime, signal: AbortSignal, q: AgentQuery): Promise<LastAgentHit[]> {
    try {
      return await agentsFrom(layer, e164, since, signal, q);
    } catch (err) {
      signal.throwIfAborted();
      this.opts.onError?.(layer.name, err);
      return [];
    }
  }
}

