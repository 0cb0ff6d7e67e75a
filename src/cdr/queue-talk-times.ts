// For a queue call Asterisk's billsec starts when [ivr] answers the caller, so it
// counts the hold in the queue as talk. app_queue reports the real conversation in
// AgentComplete (TalkTime), which arrives on AMI before the call's Cdr: keep it by
// caller uniqueid + agent channel until the Cdr asks. Bounded: a Cdr that never
// comes (AMI gap) must not leak.
import type { AmiFields } from './from-ami.js';
import { BoundedMap } from '../bounded-map.js';

export class QueueTalkTimes {
  private readonly byLeg: BoundedMap<string, number>;

  constructor(maxEntries = 10_000) {
    this.byLeg = new BoundedMap(maxEntries);
  }

  onAmiEvent(e: AmiFields): void {
    if (e.Event !== 'AgentComplete' || !e.Uniqueid || !e.DestChannel) return;
    const talk = Number(e.TalkTime);
    if (!Number.isFinite(talk) || talk < 0) return;
    this.byLeg.set(`${e.Uniqueid}|${e.DestChannel}`, Math.round(talk));
  }

  /** The agent's talk time for this leg, once (the Cdr consumes it). */
  take(uniqueid: string, dstchannel: string): number | undefined {
    return this.byLeg.take(`${uniqueid}|${dstchannel}`);
  }
}
