// queue_log lines for router-phase abandons, written by Asterisk itself through
// the AMI QueueLog action, so queue_log readers (QueueMetrics and the like) count
// callers who hung up while their sticky agent rang. Asterisk writes
//   <now>|<Uniqueid>|<Queue>|<Interface>|<Event>|<Message>
// with Message verbatim, so Message "1|1|<waited>" gives the ABANDON shape
// `…|ABANDON|<position>|<original position>|<seconds waited>`. An ENTERQUEUE line
// (`…|NONE|ENTERQUEUE||<caller>|1`) goes first: ABANDON carries no caller number
// and those tools find the caller through the ENTERQUEUE of the same uniqueid.
// Both lines are stamped with the time Asterisk writes them (the abandon's time).
import type { Logger } from '../log.js';
import type { AbandonRecord } from './record.js';

export interface AmiActions {
  action(fields: Record<string, unknown>): Promise<unknown>;
}

export interface QueueLogOptions {
  /** Queue name for router-phase lines (no real queue was involved). */
  queue?: string;
  /** Write ENTERQUEUE before ABANDON (default true). */
  enterQueue?: boolean;
  /** Lines kept while AMI is down; the oldest are dropped beyond it. */
  maxPending?: number;
}

/** `|` separates queue_log fields: a caller-controlled value must not add one. CR/LF are stripped by the AMI layer. */
const field = (v: string | number | undefined) => String(v ?? '').replace(/[|\r\n]/g, ' ');

export function queueLogActions(r: AbandonRecord, o: QueueLogOptions = {}): Record<string, string>[] {
  const queue = field(r.queue ?? o.queue ?? 'sticky-router');
  const base = { Action: 'QueueLog', Queue: queue, Uniqueid: field(r.uniqueid) };
  const abandon = {
    ...base,
    Event: 'ABANDON',
    Interface: r.sticky_agent ? `PJSIP/${field(r.sticky_agent)}` : 'NONE',
    Message: `${r.position ?? 1}|${r.original_position ?? 1}|${r.waited_seconds}`,
  };
  if (o.enterQueue === false) return [abandon];
  const enter = { ...base, Event: 'ENTERQUEUE', Interface: 'NONE', Message: `|${field(r.caller.raw)}|${r.original_position ?? 1}` };
  return [enter, abandon];
}

/** Errors that mean "try again when AMI is back" rather than "Asterisk refused". */
// asterisk-ami-client rejects in-flight actions with "Client disconnected." when the socket drops.
const transient = (err: Error) => /not connected|timed out|disconnected/i.test(err.message);

export class QueueLogWriter {
  private pending: { id: string; actions: Record<string, string>[] }[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly ami: AmiActions, private readonly log: Logger, private readonly o: QueueLogOptions = {}) {}

  get backlog(): number {
    return this.pending.length;
  }

  /** Queues the record's lines and sends what AMI will take now. */
  write(r: AbandonRecord): Promise<void> {
    this.pending.push({ id: r.id, actions: queueLogActions(r, this.o) });
    const max = this.o.maxPending ?? 500;
    if (this.pending.length > max) {
      const dropped = this.pending.splice(0, this.pending.length - max);
      this.log.error({ dropped: dropped.length }, 'queue_log backlog full while AMI is down; oldest ABANDON lines dropped');
    }
    return this.flush();
  }

  /** Sends queued lines in order; call again when AMI reconnects. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const action = head.actions[0];
      if (!action) {
        this.pending.shift();
        continue;
      }
      try {
        await this.ami.action(action);
        head.actions.shift();
      } catch (err) {
        const e = err as Error;
        if (transient(e)) {
          this.log.warn({ err: e.message, backlog: this.pending.length }, 'queue_log line not written; retrying when AMI reconnects');
          return;
        }
        this.log.error({ err: e.message, abandon: head.id, event: action.Event }, 'Asterisk refused the QueueLog action');
        head.actions.shift();
      }
    }
  }
}
