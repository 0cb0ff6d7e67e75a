// Which queue member took a queue call, for the call's CDR. The CDR names only
// channels: a FreePBX-style member's is `Local/1002@from-queue-…;1`, a hot-desking
// agent's is the phone they sit at. app_queue's AgentConnect names the member
// (Interface, MemberName) and arrives before the Cdr: keep it by caller uniqueid +
// member channel until the Cdr asks. Bounded: a Cdr that never comes must not leak.
import type { AmiFields } from '../cdr/from-ami.js';
import { memberAgentId } from './members.js';
import { BoundedMap } from '../bounded-map.js';

/** The AMI events this consumer reads. */
export const queueAttributionEvents = ['AgentConnect'] as const;

export class QueueAttribution {
  private readonly byLeg: BoundedMap<string, string>;

  constructor(maxEntries = 10_000) {
    this.byLeg = new BoundedMap(maxEntries);
  }

  onAmiEvent(e: AmiFields): void {
    if (e.Event !== 'AgentConnect' || !e.Uniqueid || !e.DestChannel) return;
    const agent = memberAgentId({ name: e.MemberName, interface: e.Interface });
    if (!agent) return;
    this.byLeg.set(`${e.Uniqueid}|${e.DestChannel}`, agent);
  }

  /** The member (agent) who answered this leg of a queue call, once. */
  take(uniqueid: string, dstchannel: string): string | undefined {
    return this.byLeg.take(`${uniqueid}|${dstchannel}`);
  }
}
