// Everything known about one call, from StasisStart to the ring outcome: the data of
// the decision record. One object per call: concurrent calls never share mutable
// state. Its fields are written by routeCall (lookup, decision, wait) and by the
// call's lifecycle (src/routing/lifecycle.ts: hand-off, ring), which also decides
// when the record is written.
import type { DateTime } from 'luxon';
import type { CallerNumber } from '../numbers.js';
import type { Candidate, Decision } from './decide.js';
import type { Reason } from './reasons.js';

export type RingOutcome = 'answered' | 'no_answer' | 'busy' | 'unavailable' | 'caller_hung_up';

export class Call {
  lookupSource: string | undefined;
  lookupMs: number | undefined;
  lookupError: string | undefined;
  lastTalkedAt: DateTime | undefined;
  decision: Decision | undefined;
  /** Final reason: the decision's, updated by the ring outcome. */
  reason: Reason | undefined;
  handedOffAt: number | undefined;
  /**
   * performance.now() when the StasisStart frame arrived and when the hand-off's
   * `continue` was issued: the router's own time for the decision (routerMs), which
   * decideMs (epoch ms, and up to the continue's answer) cannot resolve.
   */
  frameAt: number | undefined;
  continueIssuedAt: number | undefined;
  ringStartedAt: number | undefined;
  ringOutcome: RingOutcome | undefined;
  ringMs: number | undefined;
  answeredAt: number | undefined;
  /** Set when the abandoned caller is calling back (from the abandon pipeline). */
  previousAbandon: { at: string; agent?: string; count: number } | undefined;
  linkedid: string | undefined;
  /** The ranked agents considered, with their states at decision time. */
  candidates: Candidate[] | undefined;
  /** Epoch ms the caller started / stopped being held for a busy agent (wait_for_agent). */
  waitStartedAt: number | undefined;
  waitEndedAt: number | undefined;

  constructor(
    readonly channelId: string,
    readonly did: string | undefined,
    readonly caller: CallerNumber,
    /** Monotonic-ish ms at StasisStart (Date.now of the event's arrival). */
    readonly startedAt: number,
    readonly startedAtTime: DateTime,
  ) {}

  /** The structured decision record: one pino line per call. */
  record(): Record<string, unknown> {
    return {
      event: 'decision',
      channel: this.channelId,
      did: this.did,
      caller: { raw: this.caller.raw, e164: this.caller.e164 },
      agent: this.decision && 'agent' in this.decision ? this.decision.agent : undefined,
      ...(this.decision && 'rank' in this.decision ? { rank: this.decision.rank, learnedFrom: this.decision.learnedFrom, dial: this.decision.dial, agentPbx: this.decision.pbx } : {}),
      action: this.decision?.action,
      reason: this.reason,
      lookup: { source: this.lookupSource, ms: this.lookupMs, error: this.lookupError, lastTalkedAt: this.lastTalkedAt?.toISO() },
      decideMs: this.handedOffAt !== undefined ? this.handedOffAt - this.startedAt : undefined,
      routerMs: this.frameAt !== undefined && this.continueIssuedAt !== undefined ? Math.round((this.continueIssuedAt - this.frameAt) * 1000) / 1000 : undefined,
      ring: this.ringOutcome ? { outcome: this.ringOutcome, ms: this.ringMs } : undefined,
      previousAbandon: this.previousAbandon,
      tried: this.candidates?.map((c) => ({ agent: c.hit.agent, state: c.state, via: c.hit.via ?? 'talk', ...(c.hit.pbx ? { pbx: c.hit.pbx } : {}), ...(c.note ? { note: c.note } : {}) })),
    };
  }
}
