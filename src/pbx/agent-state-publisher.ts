// Publishes this PBX's agents' states to the shared index (agent-state-doc.ts):
// a bulk write of the documents that changed, a moment after ARI or AMI says
// something changed, and of every document on a heartbeat (ttl / 3) so that
// none expires while this router runs. On stop, its documents expire at once.
// A failed write is logged and retried at the next change or heartbeat: other
// routers then read an older state, then an expired one (and ring through the
// trunk, where Dial() reports what the phone does).
import type { Client } from '@elastic/elasticsearch';
import type { AmiEvent } from '../ami/connection.js';
import type { Logger } from '../log.js';
import type { AgentState } from '../routing/decide.js';
import { agentStateId, agentStatesIndex, stateKey, type AgentStateDoc, type QueueEntry } from './agent-state-doc.js';

/** The AMI events after which a member's state may have changed (declared to the session filter in src/ami/consumers.ts). */
export const agentStatePublisherEvents = ['QueueMemberAdded', 'QueueMemberRemoved', 'QueueMemberPause', 'QueueMemberStatus', 'QueueStatusComplete', 'AgentComplete'] as const;

export interface LocalAgents {
  /** Every agent this PBX knows, with the phone's state. */
  phones(): Iterable<[agent: string, state: AgentState]>;
  /** The agent's membership in each queue; undefined while the queue state is not synced. */
  queues(agent: string): QueueEntry[] | undefined;
  /** Agents known only as queue members (hot desk MemberName, Local/… members). */
  members(): Iterable<string>;
}

export interface PublisherOptions {
  client: Client;
  prefix: string;
  pbx: string;
  agents: LocalAgents;
  ttlMs: number;
  log: Logger;
  /** How long after a change to write (changes come in bursts: a call is several device state events). */
  debounceMs?: number;
  now?: () => number;
  /** Told each write's result (metrics). */
  onWrite?: (ok: boolean) => void;
}

export class AgentStatePublisher {
  private readonly written = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private failing = false;
  private readonly now: () => number;
  /** Writes that reached the cluster, and documents written: for tests and /metrics. */
  readonly stats = { writes: 0, docs: 0, errors: 0 };

  constructor(private readonly o: PublisherOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.heartbeat = setInterval(() => this.kick(true), Math.max(1000, Math.floor(this.o.ttlMs / 3)));
    this.heartbeat.unref();
    this.kick(true);
  }

  /** Something changed (ARI device state, AMI queue member): publish soon. */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick(false);
    }, this.o.debounceMs ?? 100);
    this.timer.unref();
  }

  onAmiEvent(e: AmiEvent): void {
    if ((agentStatePublisherEvents as readonly string[]).includes(e.Event)) this.changed();
  }

  /** Waits for a write in flight, then marks this router's documents expired (best effort, 2 s). */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    clearTimeout(this.timer);
    await this.running;
    const at = new Date(this.now()).toISOString();
    const operations = [...this.written.keys()].flatMap((agent) => [{ update: { _index: agentStatesIndex(this.o.prefix), _id: agentStateId(this.o.pbx, agent) } }, { doc: { expires_at: at } }]);
    if (operations.length === 0) return;
    await this.o.client.bulk({ operations }, { requestTimeout: 2000, maxRetries: 0 }).catch((err: Error) => this.o.log.warn({ err: err.message }, 'could not expire agent states on stop'));
  }

  private kick(all: boolean): void {
    if (this.running) {
      this.again ||= true;
      if (all) this.written.clear();
      return;
    }
    this.running = this.publish(all)
      .catch((err: Error) => {
        this.stats.errors++;
        this.o.onWrite?.(false);
        if (!this.failing) this.o.log.warn({ err: err.message }, 'could not publish agent states; other PBXs read them as they were, then as expired');
        this.failing = true;
        // Nothing counts as written: the next attempt writes everything.
        this.written.clear();
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick(false);
        }
      });
  }

  /** The documents as they are now: one per agent known by phone or by queue membership. */
  snapshot(): AgentStateDoc[] {
    const nowMs = this.now();
    const at = new Date(nowMs).toISOString();
    const expires = new Date(nowMs + this.o.ttlMs).toISOString();
    const phones = new Map(this.o.agents.phones());
    for (const m of this.o.agents.members()) if (!phones.has(m)) phones.set(m, 'unknown');
    return [...phones].map(([agent, state]) => {
      const queues = this.o.agents.queues(agent);
      return { '@timestamp': at, pbx: this.o.pbx, agent, state, ...(queues ? { queues } : {}), expires_at: expires };
    });
  }

  private async publish(all: boolean): Promise<void> {
    const docs = this.snapshot().filter((d) => all || this.written.get(d.agent) !== stateKey(d));
    if (docs.length === 0) return;
    const index = agentStatesIndex(this.o.prefix);
    const res = await this.o.client.bulk({ operations: docs.flatMap((d) => [{ index: { _index: index, _id: agentStateId(d.pbx, d.agent) } }, d]) }, { requestTimeout: 5000, maxRetries: 0 });
    const failed = res.errors ? res.items.filter((i) => i.index?.error).length : 0;
    if (failed > 0) throw new Error(`${failed} of ${docs.length} agent state documents refused: ${JSON.stringify(res.items.find((i) => i.index?.error)?.index?.error).slice(0, 200)}`);
    for (const d of docs) this.written.set(d.agent, stateKey(d));
    this.stats.writes++;
    this.stats.docs += docs.length;
    this.o.onWrite?.(true);
    if (this.failing) this.o.log.info({ agents: docs.length }, 'agent states published again');
    this.failing = false;
  }
}
