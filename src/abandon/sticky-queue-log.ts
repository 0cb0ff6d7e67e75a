// The router's sticky ring as a queue in queue_log (queue name QUEUE_LOG default
// `sticky-router`), so that queue_log readers (QueueMetrics, the Habr script)
// count these calls the way they count Asterisk's own queues. Each line is
// written when it happens, so its timestamp is real and readers that compute the
// wait from two lines' timestamps get the real wait:
//   DialBegin in [sticky-ring]   ENTERQUEUE||<caller>|1
//   caller hangs up while ringing ABANDON|1|1|<waited>              agent NONE
//   DialEnd ANSWER               CONNECT|<hold>|<agent uniqueid>|<ring>   (answered: true)
//   first BridgeLeave after that COMPLETECALLER|<hold>|<talk>|1 or COMPLETEAGENT|…: the
//                                leg that hung up leaves the bridge first (Hangup events
//                                come in no useful order: Dial() hangs up the agent leg
//                                before the caller's); the first Hangup if AMI missed it
//   DialEnd NOANSWER/BUSY/…      RINGNOANSWER|<ring ms> (NOANSWER only), then
//                                EXITWITHTIMEOUT|1|1|<waited>: the caller leaves this
//                                "queue" for the fallback (which may log its own).
// The ABANDON line comes from the abandon record (pipeline), which knows the wait;
// if the router missed the DialBegin (AMI reconnecting), ENTERQUEUE is written
// just before it, so the caller can still be found by uniqueid.
import type { AmiEvent } from '../ami/connection.js';
import type { Logger } from '../log.js';
import type { AbandonRecord } from './record.js';
import { BoundedMap } from '../bounded-map.js';
import type { AmiConsumer } from '../ami/filter.js';
import { contexts } from '../dialplan.js';
import { QueueLogWriter, queueLogAction, type AmiActions, type QueueLogOptions } from './queue-log.js';

/** AMI events this consumer reads (they must pass the session filter in app.ts). */
export const stickyQueueLogEvents: AmiConsumer = { name: 'sticky queue_log', events: ['DialBegin', 'DialEnd', 'BridgeLeave', 'Hangup'] };

interface Entry {
  uniqueid: string;
  caller: string;
  agent: string;
  agentUniqueid?: string;
  enteredAt: number;
  connectedAt?: number;
  done: boolean;
  timer?: NodeJS.Timeout;
}

/** How long an ended entry is kept for a late abandon record. */
const LINGER_MS = 15_000;
const MAX_ENTRIES = 10_000;

export class StickyQueueLog {
  private readonly writer: QueueLogWriter;
  private readonly calls = new BoundedMap<string, Entry>(MAX_ENTRIES, (_id, e) => this.forget(e));
  /** Agent channel uniqueid → caller uniqueid, for COMPLETEAGENT. */
  private readonly agentLegs = new Map<string, string>();
  private readonly queue: string;
  private readonly answered: boolean;

  constructor(ami: AmiActions, log: Logger, o: QueueLogOptions = {}, private readonly now: () => number = Date.now) {
    this.writer = new QueueLogWriter(ami, log, o);
    this.queue = o.queue ?? 'sticky-router';
    this.answered = o.answered ?? true;
  }

  get backlog(): number {
    return this.writer.backlog;
  }

  /** Sends lines held while AMI was down. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  onAmiEvent(e: AmiEvent): void {
    const id = e.Uniqueid;
    if (!id) return;
    switch (e.Event) {
      case 'DialBegin': {
        if (e.Context !== contexts.ring || this.calls.has(id)) return;
        // [sticky-ring]'s extension is <agent>~<ring>~…; the agent is its first part.
        const agent = (e.Exten ?? '').split('~')[0] || e.DestCallerIDNum || '';
        const entry: Entry = { uniqueid: id, caller: e.CallerIDNum ?? '', agent, agentUniqueid: e.DestUniqueid, enteredAt: this.now(), done: false };
        this.remember(entry);
        this.line(entry, 'ENTERQUEUE', undefined, ['', entry.caller, 1]);
        return;
      }
      case 'DialEnd': {
        const entry = this.calls.get(id);
        if (!entry || entry.done || entry.connectedAt !== undefined) return;
        const now = this.now();
        const status = e.DialStatus ?? '';
        if (status === 'ANSWER') {
          entry.connectedAt = now;
          if (!this.answered) return this.finish(entry);
          this.line(entry, 'CONNECT', this.agentInterface(entry), [secs(now - entry.enteredAt), entry.agentUniqueid ?? e.DestUniqueid ?? '', secs(now - entry.enteredAt)]);
          return;
        }
        // CANCEL: the caller hung up; the abandon record writes ABANDON.
        if (status === 'CANCEL') return;
        if (status === 'NOANSWER') this.line(entry, 'RINGNOANSWER', this.agentInterface(entry), [now - entry.enteredAt]);
        this.line(entry, 'EXITWITHTIMEOUT', undefined, [1, 1, secs(now - entry.enteredAt)]);
        this.finish(entry);
        return;
      }
      case 'BridgeLeave':
      case 'Hangup': {
        const callerLeg = this.calls.get(id);
        const byAgent = callerLeg ? undefined : this.agentLegs.get(id);
        const entry = callerLeg ?? (byAgent ? this.calls.get(byAgent) : undefined);
        if (!entry || entry.done || entry.connectedAt === undefined) return;
        // Whichever leg hangs up first ended the conversation.
        const hold = secs(entry.connectedAt - entry.enteredAt);
        const talk = secs(this.now() - entry.connectedAt);
        if (this.answered) this.line(entry, callerLeg ? 'COMPLETECALLER' : 'COMPLETEAGENT', this.agentInterface(entry), [hold, talk, 1]);
        this.finish(entry);
        return;
      }
    }
  }

  /** The caller hung up while their sticky agent rang: ABANDON with agent NONE, as Asterisk writes it. */
  abandoned(r: AbandonRecord): Promise<void> {
    const entry = this.calls.get(r.uniqueid);
    const lines: Record<string, string>[] = [];
    if (!entry) lines.push(queueLogAction({ queue: r.queue ?? this.queue, uniqueid: r.uniqueid, event: 'ENTERQUEUE', data: ['', r.caller.raw, r.original_position ?? 1] }));
    else if (entry.done) return Promise.resolve();
    lines.push(queueLogAction({ queue: r.queue ?? this.queue, uniqueid: r.uniqueid, event: 'ABANDON', data: [r.position ?? 1, r.original_position ?? 1, r.waited_seconds] }));
    if (entry) this.finish(entry);
    return this.writer.write(r.uniqueid, lines);
  }

  clear(): void {
    for (const e of this.calls.values()) clearTimeout(e.timer);
    this.calls.clear();
    this.agentLegs.clear();
  }

  private agentInterface(e: Entry): string | undefined {
    return e.agent ? `PJSIP/${e.agent}` : undefined;
  }

  private line(e: Entry, event: string, agent: string | undefined, data: (string | number)[]): void {
    void this.writer.write(e.uniqueid, [queueLogAction({ queue: this.queue, uniqueid: e.uniqueid, agent, event, data })]);
  }

  private remember(e: Entry): void {
    this.calls.set(e.uniqueid, e);
    if (e.agentUniqueid) this.agentLegs.set(e.agentUniqueid, e.uniqueid);
    // A call whose end AMI never reported is forgotten after an hour.
    e.timer = setTimeout(() => this.forget(e), 3_600_000);
    e.timer.unref();
  }

  /** Closed: no more lines for it; kept briefly so a late abandon record does not write a second ENTERQUEUE. */
  private finish(e: Entry): void {
    e.done = true;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => this.forget(e), LINGER_MS);
    e.timer.unref();
  }

  private forget(e: Entry): void {
    clearTimeout(e.timer);
    if (this.calls.get(e.uniqueid) === e) this.calls.delete(e.uniqueid);
    if (e.agentUniqueid && this.agentLegs.get(e.agentUniqueid) === e.uniqueid) this.agentLegs.delete(e.agentUniqueid);
  }
}

/** queue_log counts whole seconds. */
const secs = (ms: number) => Math.max(0, Math.round(ms / 1000));
