// For a queue call Asterisk's billsec starts when [ivr] answers the caller, so it
// counts the hold in the queue as talk. app_queue reports the real conversation in
// AgentComplete (TalkTime), which arrives on AMI before the call's Cdr: keep it by
// caller uniqueid + agent channel until the Cdr asks. Bounded: a Cdr that never
// comes (AMI gap) must not leak.
import type { AmiFields } from './from-ami.js';

export class QueueTalkTimes {
  private byLeg = new Map<string, number>();

  constructor(private readonly maxEntries = 10_000) {}

  onAmiEvent(e: AmiFields): void {
    if (e.Event !== 'AgentComplete' || !e.Uniqueid || !e.DestChannel) return;
    const talk = Number(e.TalkTime);
    if (!Number.isFinite(talk) || talk < 0) return;
    this.byLeg.set(`${e.Uniqueid}|${e.DestChannel}`, Math.round(talk));
    if (this.byLeg.size > this.maxEntries) {
      const oldest = this.byLeg.keys().next().value;
      if (oldest !== undefined) this.byLeg.delete(oldest);
    }
  }

  /** The agent's talk time for this leg, once (the Cdr consumes it). */
  take(uniqueid: string, dstchannel: string): number | undefined {
    const key = `${uniqueid}|${dstchannel}`;
    const v = this.byLeg.get(key);
    if (v !== undefined) this.byLeg.delete(key);
    return v;
  }
}
