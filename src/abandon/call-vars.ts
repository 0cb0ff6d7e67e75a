// What the dialplan tells AMI about each caller channel, kept until the abandon
// event needs it: the DID ([sticky-inbound] sets __STICKY_DID=${EXTEN}), the
// sticky agent ([sticky-ring] sets __STICKY_AGENT) and when the caller joined a
// queue. Keyed by Uniqueid, bounded, and forgotten shortly after Hangup (the
// linger covers a QueueCallerAbandon that AMI delivers after the Hangup).
import type { AmiEvent } from '../ami/connection.js';
import { BoundedMap } from '../bounded-map.js';
import type { AmiConsumer } from '../ami/filter.js';
import { channelVars, varSetName } from '../dialplan.js';

export interface CallVars {
  did?: string;
  agent?: string;
  /** ms epoch of QueueCallerJoin. */
  queueJoinedAt?: number;
  /** ms epoch since the caller has been waiting: first seen (arrival), or left their last bridge (a conversation). */
  waitingSince?: number;
}

export interface CallVarOptions {
  /** Most channels remembered at once; the oldest is dropped beyond it. */
  max?: number;
  lingerMs?: number;
  now?: () => number;
}

const didVar = varSetName(channelVars.did);
const agentVar = varSetName(channelVars.agent);

/** What the tracker reads from AMI. */
export const callVarEvents: AmiConsumer = {
  name: 'abandon call variables',
  events: ['VarSet', 'QueueCallerJoin', 'BridgeLeave', 'Hangup'],
  variables: [channelVars.did, channelVars.agent],
};

export class CallVarTracker {
  private readonly calls: BoundedMap<string, CallVars>;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lingerMs: number;
  private readonly now: () => number;

  constructor(o: CallVarOptions = {}) {
    this.calls = new BoundedMap(o.max ?? 10_000, (id) => this.forget(id));
    this.lingerMs = o.lingerMs ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.calls.size;
  }

  get(uniqueid: string | undefined): CallVars | undefined {
    return uniqueid ? this.calls.get(uniqueid) : undefined;
  }

  /** How long the caller has been waiting, on this tracker's clock. */
  waitingMs(v: CallVars): number | undefined {
    return v.waitingSince === undefined ? undefined : Math.max(0, this.now() - v.waitingSince);
  }

  onAmiEvent(e: AmiEvent): void {
    const id = e.Uniqueid;
    if (!id) return;
    switch (e.Event) {
      case 'VarSet': {
        const name = e.Variable ?? '';
        const value = e.Value?.trim();
        if (!value) return;
        if (didVar.test(name)) this.entry(id).did = value;
        else if (agentVar.test(name)) this.entry(id).agent = value;
        return;
      }
      case 'QueueCallerJoin':
        this.entry(id).queueJoinedAt ??= this.now();
        return;
      case 'BridgeLeave': {
        // A conversation ended (e.g. the agent transferred the caller to a queue): waiting starts again.
        const v = this.calls.get(id);
        if (v) v.waitingSince = this.now();
        return;
      }
      case 'Hangup': {
        if (!this.calls.has(id) || this.timers.has(id)) return;
        const t = setTimeout(() => this.forget(id), this.lingerMs);
        t.unref();
        this.timers.set(id, t);
        return;
      }
    }
  }

  /** Drops every entry and timer (on shutdown). */
  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.calls.clear();
  }

  private entry(id: string): CallVars {
    let v = this.calls.get(id);
    if (!v) {
      v = { waitingSince: this.now() };
      this.calls.set(id, v);
    }
    return v;
  }

  private forget(id: string): void {
    this.calls.delete(id);
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }
}
