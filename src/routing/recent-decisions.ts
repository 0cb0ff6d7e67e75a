// What the router decided for calls of the last minutes, by the caller's channel
// uniqueid, so that the CDR of a routed call can carry its DID and reason code.
// While a call is in progress its entry reads the live Call (the ring outcome still
// changes the reason); once its decision record is written (settled), the entry keeps
// only the four fields a CDR needs: a whole Call (decision, ranked candidates with
// their hits, luxon DateTimes) is ~3 KB, and at 20 calls/s 20,000 of them were 60 MB.
// Bounded by entries and by age (pruned on write: entries are in insertion order):
// CDRs arrive seconds after the call ends, so a few thousand entries and an hour are plenty.
import type { Call } from './call.js';
import { BoundedMap } from '../bounded-map.js';

export interface DecisionNote {
  did?: string;
  reason?: string;
  rangAgent?: string;
  rangPbx?: string;
}

interface Entry {
  /** The live call until it is settled. */
  call?: Call;
  note?: DecisionNote;
  at: number;
}

function noteOf(call: Call): DecisionNote {
  const d = call.decision;
  // The agent the router rang: their CDR leg may name a hot-desk phone or a Local channel.
  // rangPbx: an agent on another PBX, rung through its trunk (their CDR leg is the trunk's).
  return { did: call.did, reason: call.reason, ...(d?.action === 'ring' ? { rangAgent: d.agent, ...(d.pbx ? { rangPbx: d.pbx } : {}) } : {}) };
}

export class RecentDecisions {
  private readonly byUniqueid: BoundedMap<string, Entry>;

  constructor(
    maxEntries = 20_000,
    private readonly maxAgeMs = 3600_000,
    private readonly now: () => number = Date.now,
  ) {
    this.byUniqueid = new BoundedMap(maxEntries);
  }

  get size(): number {
    return this.byUniqueid.size;
  }

  remember(call: Call): void {
    const at = this.now();
    this.byUniqueid.set(call.channelId, { call, at });
    this.pruneExpired(at);
  }

  /** The call's decision record is written: its reason is final, keep only what a CDR needs. */
  settled(call: Call): void {
    const e = this.byUniqueid.get(call.channelId);
    if (!e || e.call !== call) return;
    e.note = noteOf(call);
    e.call = undefined;
  }

  /** The call's final reason (after the ring outcome): from the live Call, or its note once settled. */
  annotate(uniqueid: string, linkedid?: string): DecisionNote | undefined {
    const hit = this.byUniqueid.get(uniqueid) ?? (linkedid ? this.byUniqueid.get(linkedid) : undefined);
    if (!hit || this.now() - hit.at > this.maxAgeMs) return undefined;
    return hit.call ? noteOf(hit.call) : hit.note;
  }

  private pruneExpired(now: number): void {
    const cutoff = now - this.maxAgeMs;
    for (const [k, e] of this.byUniqueid) {
      if (e.at >= cutoff) break;
      this.byUniqueid.delete(k);
    }
  }
}
