// What the router decided for calls of the last minutes, by the caller's channel
// uniqueid, so that the CDR of a routed call can carry its DID and reason code.
// Bounded: CDRs arrive seconds after the call ends, so a few thousand entries and
// an hour's age are plenty.
import type { Call } from './call.js';
import { BoundedMap } from '../bounded-map.js';

export class RecentDecisions {
  private readonly byUniqueid: BoundedMap<string, { call: Call; at: number }>;

  constructor(maxEntries = 20_000, private readonly maxAgeMs = 3600_000) {
    this.byUniqueid = new BoundedMap(maxEntries);
  }

  remember(call: Call): void {
    this.byUniqueid.set(call.channelId, { call, at: Date.now() });
  }

  /** The call's final reason (after the ring outcome) is read from the live Call. */
  annotate(uniqueid: string, linkedid?: string): { did?: string; reason?: string; rangAgent?: string; rangPbx?: string } | undefined {
    const hit = this.byUniqueid.get(uniqueid) ?? (linkedid ? this.byUniqueid.get(linkedid) : undefined);
    if (!hit || Date.now() - hit.at > this.maxAgeMs) return undefined;
    const d = hit.call.decision;
    // The agent the router rang: their CDR leg may name a hot-desk phone or a Local channel.
    // rangPbx: an agent on another PBX, rung through its trunk (their CDR leg is the trunk's).
    return { did: hit.call.did, reason: hit.call.reason, ...(d?.action === 'ring' ? { rangAgent: d.agent, ...(d.pbx ? { rangPbx: d.pbx } : {}) } : {}) };
  }
}
