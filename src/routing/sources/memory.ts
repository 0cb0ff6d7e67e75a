// Recent affinity in memory: who each caller last talked to, for the minutes it
// takes a CDR to reach Elasticsearch and become searchable (a caller who calls
// straight back must still find their agent). Fed by the router's own bridges and
// by every incoming CDR. Bounded by entries (oldest written first out) and by age.
import { DateTime } from 'luxon';
import type { CdrDocument } from '../../cdr/schema.js';
import { distinctAgents, type AgentQuery, type LastAgentHit, type LastAgentSource } from '../lookup.js';
import { BoundedMap } from '../../bounded-map.js';

export interface MemoryAffinityOptions {
  /** Most entries kept; the least recently written goes first. Default 100 000. */
  maxEntries?: number;
  /** Entries older than this (by end of call) are dropped. Keep it ≥ STICKY_WINDOW. Default 2 h. */
  maxAgeMs?: number;
  now?: () => DateTime;
}

interface Entry {
  agent: string;
  endedAtMs: number;
  talkSeconds: number;
  via: 'talk' | 'attempt';
  pbx?: string;
}

/** Distinct agents kept per caller (newest first): enough for any maxAgents. */
const AGENTS_PER_CALLER = 10;

export class MemoryAffinity implements LastAgentSource {
  readonly name = 'memory';
  // A Map iterates in insertion order; re-inserting on write makes it an LRU by write.
  private readonly entries: BoundedMap<string, Entry[]>;
  private readonly maxAgeMs: number;
  private readonly now: () => DateTime;

  constructor(opts: MemoryAffinityOptions = {}) {
    this.entries = new BoundedMap(opts.maxEntries ?? 100_000);
    this.maxAgeMs = opts.maxAgeMs ?? 2 * 3600_000;
    this.now = opts.now ?? (() => DateTime.utc());
  }

  get size(): number {
    return this.entries.size;
  }

  /** Records that `e164` talked to `agent` until `endedAt`; an older conversation never replaces a newer one. */
  remember(e164: string, agent: string, endedAt: DateTime, talkSeconds: number, via: 'talk' | 'attempt' = 'talk', pbx?: string): void {
    const endedAtMs = endedAt.toMillis();
    const current = this.entries.get(e164) ?? [];
    // Newest per agent (an extension on a PBX) and kind: a later attempt must not hide a conversation when attempts do not count.
    const isSame = (e: Entry) => e.agent === agent && e.pbx === pbx && e.via === via;
    const same = current.find(isSame);
    if (same && same.endedAtMs > endedAtMs) return;
    const list = [{ agent, endedAtMs, talkSeconds, via, ...(pbx ? { pbx } : {}) }, ...current.filter((e) => !isSame(e))].sort((a, b) => b.endedAtMs - a.endedAtMs).slice(0, AGENTS_PER_CALLER);
    this.entries.delete(e164);
    this.entries.set(e164, list);
    this.pruneExpired();
  }

  /** Learns from a CDR: only a real conversation (talked) with a known customer and agent. */
  rememberCdr(doc: CdrDocument): void {
    if (!(doc.talked || doc.attempt) || !doc.customer_e164 || !doc.agent) return;
    // Date.parse: @timestamp is our own ISO text (the journal has already checked it), and luxon's ISO parser costs ~5 µs per CDR.
    const endedAtMs = Date.parse(doc['@timestamp']);
    if (!Number.isFinite(endedAtMs)) return;
    this.remember(doc.customer_e164, doc.agent, DateTime.fromMillis(endedAtMs, { zone: 'utc' }), doc.talk_seconds, doc.talked ? 'talk' : 'attempt', doc.agent_pbx);
  }

  async lastAgentFor(e164: string, since: DateTime, signal: AbortSignal): Promise<LastAgentHit | undefined> {
    return (await this.lastAgentsFor(e164, since, signal, { limit: 1, attempts: false }))[0];
  }

  async lastAgentsFor(e164: string, since: DateTime, signal: AbortSignal, q: AgentQuery): Promise<LastAgentHit[]> {
    signal.throwIfAborted();
    const hits = (this.entries.get(e164) ?? [])
      .filter((e) => e.endedAtMs >= since.toMillis() && (q.attempts || e.via === 'talk'))
      .map((e): LastAgentHit => ({ agent: e.agent, endedAt: DateTime.fromMillis(e.endedAtMs, { zone: 'utc' }), talkSeconds: e.talkSeconds, source: this.name, via: e.via, ...(e.pbx ? { pbx: e.pbx } : {}) }));
    return distinctAgents(hits, q.limit);
  }

  /** Drops entries past maxAge. Writes arrive roughly in end-time order, so it stops at the first young entry. */
  pruneExpired(): number {
    const cutoff = this.now().toMillis() - this.maxAgeMs;
    let dropped = 0;
    for (const [k, list] of this.entries) {
      if ((list[0]?.endedAtMs ?? 0) >= cutoff) break;
      this.entries.delete(k);
      dropped++;
    }
    return dropped;
  }
}
