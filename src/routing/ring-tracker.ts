// After the hand-off, Asterisk's Dial() rings the agent; the router hears how it
// went over AMI. DialBegin/DialEnd carry the caller channel's Uniqueid (= the ARI
// channel id), so the outcome finds its call without any shared mutable state
// beyond this map of calls still ringing or talking.
import type { AmiEvent } from '../ami/connection.js';
import type { Call, RingOutcome } from './call.js';
import type { Reason } from './reasons.js';

const outcomes: Record<string, { outcome: RingOutcome; reason: Reason }> = {
  ANSWER: { outcome: 'answered', reason: 'sticky_agent' },
  NOANSWER: { outcome: 'no_answer', reason: 'agent_no_answer' },
  BUSY: { outcome: 'busy', reason: 'agent_busy' },
  CHANUNAVAIL: { outcome: 'unavailable', reason: 'agent_unavailable' },
  CONGESTION: { outcome: 'unavailable', reason: 'agent_unavailable' },
  CANCEL: { outcome: 'caller_hung_up', reason: 'caller_abandoned' },
};

export interface RingTrackerHooks {
  /** The ring phase is over (or never started): the decision record is complete. */
  onRingDone(call: Call): void;
  /** The caller hung up while the sticky agent rang. */
  onCallerAbandoned(call: Call, at: number): void;
  /** An answered sticky call ended: the caller talked to the agent for talkMs. */
  onTalkEnded(call: Call, talkMs: number, at: number): void;
}

export class RingTracker {
  private calls = new Map<string, { call: Call; timer: NodeJS.Timeout }>();

  constructor(private readonly hooks: RingTrackerHooks, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.calls.size;
  }

  /** Starts watching a call that was handed to [sticky-ring]. */
  track(call: Call, ringTimeoutMs: number): void {
    // If AMI misses the events (reconnecting), the record is still written, late.
    const timer = setTimeout(() => this.finishRing(call, undefined), ringTimeoutMs + 30_000);
    timer.unref();
    this.calls.set(call.channelId, { call, timer });
  }

  /** The hand-off never happened: stop watching. */
  forget(call: Call): void {
    const entry = this.calls.get(call.channelId);
    if (entry?.call !== call) return;
    clearTimeout(entry.timer);
    this.calls.delete(call.channelId);
  }

  onAmiEvent(e: AmiEvent): void {
    const id = e.Uniqueid;
    if (!id) return;
    const entry = this.calls.get(id);
    if (!entry) return;
    const { call } = entry;
    call.linkedid ??= e.Linkedid;
    switch (e.Event) {
      case 'DialBegin':
        call.ringStartedAt ??= this.now();
        break;
      case 'DialEnd':
        this.finishRing(call, e.DialStatus);
        break;
      case 'Hangup':
        if (call.ringOutcome === undefined) this.finishRing(call, 'CANCEL');
        if (call.answeredAt !== undefined) this.hooks.onTalkEnded(call, this.now() - call.answeredAt, this.now());
        clearTimeout(entry.timer);
        this.calls.delete(id);
        break;
    }
  }

  private finishRing(call: Call, dialStatus: string | undefined): void {
    if (call.ringOutcome !== undefined) return;
    const at = this.now();
    const o = outcomes[dialStatus ?? ''] ?? { outcome: 'unavailable' as const, reason: 'agent_unavailable' as const };
    call.ringOutcome = o.outcome;
    call.reason = o.reason;
    call.ringMs = at - (call.ringStartedAt ?? call.handedOffAt ?? at);
    if (o.outcome === 'answered') call.answeredAt = at;
    if (o.outcome === 'caller_hung_up') this.hooks.onCallerAbandoned(call, at);
    this.hooks.onRingDone(call);
    if (o.outcome !== 'answered') {
      const entry = this.calls.get(call.channelId);
      if (entry && dialStatus !== undefined && dialStatus !== 'CANCEL') return; // wait for Hangup to clear
      if (entry) {
        clearTimeout(entry.timer);
        this.calls.delete(call.channelId);
      }
    }
  }
}
