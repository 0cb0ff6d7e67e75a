// The one internal event sink for abandons. The routing issue produces into it
// (caller hung up while the sticky agent rang); the abandon pipeline consumes it.
import { EventEmitter } from 'node:events';

export interface AbandonEvent {
  /** queue: in Queue(); sticky_ring: while the sticky agent rang; sticky_wait: while held for the busy sticky agent. */
  source: 'sticky_ring' | 'sticky_wait' | 'queue';
  /** When the caller hung up (UTC ISO). */
  at: string;
  caller: { raw: string; e164?: string };
  did?: string;
  queue?: string;
  agent?: string;
  waitedMs: number;
  position?: number;
  originalPosition?: number;
  uniqueid: string;
  linkedid?: string;
  /** Read back from queue_log after an AMI gap: recorded and notified after the fact. */
  late?: boolean;
}

export class AbandonSink extends EventEmitter {
  publish(e: AbandonEvent): void {
    this.emit('abandon', e);
  }
  subscribe(l: (e: AbandonEvent) => void): void {
    this.on('abandon', l);
  }
}
