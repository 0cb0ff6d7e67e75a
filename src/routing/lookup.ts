// The lookup port: "who last talked to this customer, since when?". Sources
// (memory, Elasticsearch, the local journal) implement it; the router layers them.
import type { DateTime } from 'luxon';

export interface LastAgentHit {
  agent: string;
  /** When that conversation ended. */
  endedAt: DateTime;
  talkSeconds: number;
  /** Which source answered: memory | elasticsearch | journal. */
  source: string;
}

export interface LastAgentSource {
  readonly name: string;
  /**
   * The agent of the most recent conversation with `e164` that ended at or after
   * `since`, or undefined. Must honour `signal` (the call's lookup budget).
   */
  lastAgentFor(e164: string, since: DateTime, signal: AbortSignal): Promise<LastAgentHit | undefined>;
}
