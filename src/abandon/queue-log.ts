// Writes queue_log lines through the AMI QueueLog action, so that Asterisk itself
// writes them (same file, same format, its own clock). Asterisk writes
//   <now>|<Uniqueid>|<Queue>|<Interface>|<Event>|<Message>
// with Message verbatim. Lines are sent in order, one action at a time; while AMI
// is down they wait (bounded) and go out when it reconnects, stamped with the time
// Asterisk receives them: the action has no timestamp field. What the lines say is
// decided in sticky-queue-log.ts.
import type { Logger } from '../log.js';

export interface AmiActions {
  action(fields: Record<string, unknown>): Promise<unknown>;
}

export interface QueueLogOptions {
  /** Queue name for router-phase lines (no real queue was involved). */
  queue?: string;
  /** Answered sticky calls as CONNECT + COMPLETECALLER/COMPLETEAGENT (QUEUE_LOG_ANSWERED, default true). */
  answered?: boolean;
  /** Lines kept while AMI is down; the oldest are dropped beyond it. */
  maxPending?: number;
}

/** `|` separates queue_log fields: a caller-controlled value must not add one. CR/LF are stripped by the AMI layer. */
export const field = (v: string | number | undefined) => String(v ?? '').replace(/[|\r\n]/g, ' ');

/** One QueueLog action: `event` with data fields joined by `|`. */
export function queueLogAction(o: { queue: string; uniqueid: string; agent?: string; event: string; data: (string | number | undefined)[] }): Record<string, string> {
  return { Action: 'QueueLog', Queue: field(o.queue), Uniqueid: field(o.uniqueid), Interface: o.agent ? field(o.agent) : 'NONE', Event: o.event, Message: o.data.map(field).join('|') };
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

  /** Queues the lines (in order) and sends what AMI will take now; `id` names them in errors. */
  write(id: string, actions: Record<string, string>[]): Promise<void> {
    this.pending.push({ id, actions });
    const max = this.o.maxPending ?? 500;
    if (this.pending.length > max) {
      const dropped = this.pending.splice(0, this.pending.length - max);
      this.log.error({ dropped: dropped.length }, 'queue_log backlog full while AMI is down; oldest lines dropped');
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
        this.log.error({ err: e.message, call: head.id, event: action.Event }, 'Asterisk refused the QueueLog action');
        head.actions.shift();
      }
    }
  }
}
