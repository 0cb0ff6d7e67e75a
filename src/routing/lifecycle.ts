// One call's life, as one explicit state machine. The ARI side (StasisApp, routeCall)
// and the AMI side (RingTracker) only report what happened; this object decides what
// it means and writes the decision record, once, in one place (maybeRecord → hooks.onRecord).
//
//   entered ──decide──▶ decided ──settle──▶ handed_off ──DialBegin──▶ ringing
//      │                  │  (fallback, or caller gone) ──▶ ended        │
//      └─ caller hangs up during lookup/wait: decided ─▶ ended           │
//   ringing ──DialEnd ANSWER──▶ answered ──Hangup──▶ ended (talk learned)
//   ringing ──DialEnd other──▶ ended (the dialplan falls back)
//   ringing ──Hangup / CANCEL──▶ abandoned
//
// The record ("logged") is written when the hand-off has settled (decideMs is known)
// and no ring is still running. The AMI side can run ahead of the ARI side (DialEnd
// before the `continue` response), so AMI events move the phase from `decided` too.
import type { Call, RingOutcome } from './call.js';
import type { Decision } from './decide.js';
import type { Reason } from './reasons.js';

export type CallPhase = 'entered' | 'decided' | 'handed_off' | 'ringing' | 'answered' | 'ended' | 'abandoned';

export interface LifecycleHooks {
  /** The ARI side is done (handed off, fell back, or the caller left): once per call. */
  onDecided(call: Call): void;
  /** The decision record: once per call. */
  onRecord(call: Call): void;
  /** The caller hung up while the sticky agent rang. */
  onAbandoned(call: Call, at: number): void;
  /** An answered sticky call ended: the caller talked to the agent for talkMs. */
  onTalkEnded(call: Call, talkMs: number, at: number): void;
}

/** Dial()'s DIALSTATUS → ring outcome and the call's final reason. */
const dialOutcomes: Record<string, { outcome: RingOutcome; reason: Reason }> = {
  ANSWER: { outcome: 'answered', reason: 'sticky_agent' },
  NOANSWER: { outcome: 'no_answer', reason: 'agent_no_answer' },
  BUSY: { outcome: 'busy', reason: 'agent_busy' },
  CHANUNAVAIL: { outcome: 'unavailable', reason: 'agent_unavailable' },
  CONGESTION: { outcome: 'unavailable', reason: 'agent_unavailable' },
  CANCEL: { outcome: 'caller_hung_up', reason: 'caller_abandoned' },
};
const unknownDialOutcome = { outcome: 'unavailable' as const, reason: 'agent_unavailable' as const };

export class CallLifecycle {
  private current: CallPhase = 'entered';
  private stasisLeft = false;
  private handOffSent = false;
  private settled = false;
  private logged = false;
  /** Every phase the call went through, and when the record was written: for logs and tests. */
  readonly history: { phase: CallPhase | 'logged'; at: number }[];

  constructor(
    readonly call: Call,
    private readonly hooks: LifecycleHooks,
    private readonly now: () => number = Date.now,
  ) {
    this.history = [{ phase: 'entered', at: call.startedAt }];
  }

  get phase(): CallPhase {
    return this.current;
  }

  get isLogged(): boolean {
    return this.logged;
  }

  /** The caller hung up before the router handed the call off: stop waiting, hand nothing off. */
  get callerGone(): boolean {
    return this.stasisLeft && !this.handOffSent;
  }

  // --- the ARI side --------------------------------------------------------------

  /** StasisEnd. For our own `continue` it can beat the HTTP response: only before the hand-off does it mean the caller left. */
  leftStasis(): void {
    this.stasisLeft = true;
  }

  /** The decision (after any wait for a busy agent). */
  decide(decision: Decision): void {
    this.call.decision = decision;
    this.call.reason = decision.reason;
    if (this.current === 'entered') this.to('decided');
  }

  /** The `continue` is about to be sent: Dial() may start (and AMI report it) before it returns. */
  handingOff(): void {
    this.handOffSent = true;
  }

  /** The `continue` returned. */
  handedOff(at = this.now()): void {
    this.call.handedOffAt = at;
  }

  /** The `continue` failed and the caller was sent straight to the fallback instead (keeping the reason). */
  fellBack(decision: Extract<Decision, { action: 'fallback' }>): void {
    this.call.decision = decision;
    this.call.reason = decision.reason;
    this.call.handedOffAt = undefined;
    if (this.current === 'entered') this.to('decided');
  }

  /** The ARI side is done with the call; the record follows now or when the ring ends. */
  settle(): void {
    if (this.settled) return;
    this.settled = true;
    if (this.current === 'decided') this.to(this.ringExpected() ? 'handed_off' : 'ended');
    this.hooks.onDecided(this.call);
    this.maybeRecord();
  }

  // --- the AMI side (through RingTracker) -----------------------------------------

  linkedid(id: string | undefined): void {
    this.call.linkedid ??= id;
  }

  /** DialBegin: the sticky agent's phone rings. */
  ringing(at = this.now()): void {
    this.call.ringStartedAt ??= at;
    if (this.current === 'decided' || this.current === 'handed_off') this.to('ringing', at);
  }

  /** DialEnd (or a stand-in: CANCEL on Hangup, undefined when AMI never said). */
  ringEnded(dialStatus: string | undefined, at = this.now()): void {
    const call = this.call;
    if (call.ringOutcome !== undefined) return;
    const o = dialOutcomes[dialStatus ?? ''] ?? unknownDialOutcome;
    call.ringOutcome = o.outcome;
    call.reason = o.reason;
    call.ringMs = at - (call.ringStartedAt ?? call.handedOffAt ?? at);
    if (o.outcome === 'answered') {
      call.answeredAt = at;
      this.to('answered', at);
    } else if (o.outcome === 'caller_hung_up') {
      this.to('abandoned', at);
      this.hooks.onAbandoned(call, at);
    } else this.to('ended', at);
    this.maybeRecord();
  }

  /** Hangup of the caller's channel. */
  hungUp(at = this.now()): void {
    if (this.call.ringOutcome === undefined) this.ringEnded('CANCEL', at);
    if (this.call.answeredAt !== undefined && this.current === 'answered') {
      this.to('ended', at);
      this.hooks.onTalkEnded(this.call, at - this.call.answeredAt, at);
    }
  }

  // --- the record -----------------------------------------------------------------

  private ringExpected(): boolean {
    return this.call.decision?.action === 'ring' && this.call.handedOffAt !== undefined;
  }

  private maybeRecord(): void {
    if (this.logged || !this.settled) return;
    if (this.ringExpected() && this.call.ringOutcome === undefined) return; // the ring's end writes it
    this.logged = true;
    this.history.push({ phase: 'logged', at: this.now() });
    this.hooks.onRecord(this.call);
  }

  private to(phase: CallPhase, at = this.now()): void {
    this.current = phase;
    this.history.push({ phase, at });
  }
}
