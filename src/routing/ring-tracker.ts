// After the hand-off, Asterisk's Dial() rings the agent; the router hears how it
// went over AMI. DialBegin/DialEnd/Hangup carry the caller channel's Uniqueid (= the
// ARI channel id), so each event finds its call's lifecycle in this map of calls
// still ringing or talking, and is reported to it (src/routing/lifecycle.ts).
import type { AmiEvent } from '../ami/connection.js';
import type { AmiConsumer } from '../ami/filter.js';
import type { CallLifecycle } from './lifecycle.js';

/** What the ring tracker reads from AMI. */
export const ringTrackerEvents: AmiConsumer = { name: 'ring tracker', events: ['DialBegin', 'DialEnd', 'Hangup'] };

export class RingTracker {
  private calls = new Map<string, { life: CallLifecycle; timer: NodeJS.Timeout }>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.calls.size;
  }

  /** Starts watching a call about to be handed to [sticky-ring]. */
  track(life: CallLifecycle, ringTimeoutMs: number): void {
    // If AMI misses the events (reconnecting), the record is still written, late.
    const timer = setTimeout(() => this.finish(life, undefined), ringTimeoutMs + 30_000);
    timer.unref();
    this.calls.set(life.call.channelId, { life, timer });
  }

  /** The hand-off never happened: stop watching. */
  forget(life: CallLifecycle): void {
    const entry = this.calls.get(life.call.channelId);
    if (entry?.life !== life) return;
    this.drop(life.call.channelId);
  }

  onAmiEvent(e: AmiEvent): void {
    const id = e.Uniqueid;
    if (!id) return;
    const entry = this.calls.get(id);
    if (!entry) return;
    const { life } = entry;
    life.linkedid(e.Linkedid);
    switch (e.Event) {
      case 'DialBegin':
        life.ringing(this.now());
        break;
      case 'DialEnd':
        this.finish(life, e.DialStatus);
        break;
      case 'Hangup':
        life.hungUp(this.now());
        this.drop(id);
        break;
    }
  }

  private finish(life: CallLifecycle, dialStatus: string | undefined): void {
    if (life.call.ringOutcome !== undefined) return;
    life.ringEnded(dialStatus, this.now());
    // Answered calls stay until Hangup (talk time); so do rings that failed with a
    // real DIALSTATUS (the caller goes on to the fallback on the same channel).
    if (life.call.ringOutcome === 'answered' || (dialStatus !== undefined && dialStatus !== 'CANCEL')) return;
    this.drop(life.call.channelId);
  }

  private drop(id: string): void {
    const entry = this.calls.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.calls.delete(id);
  }
}
