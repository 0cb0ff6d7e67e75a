// Feeds AMI events to a consumer the way AmiConnection would, with the fields Asterisk
// 22 puts in them, for unit tests of the AMI side (ring tracker, CDR ingest, abandon
// pipeline). Every event it makes is checked against the session filter the router
// builds from the consumers' declarations, so a test cannot feed what the router
// would never receive.
import { EventEmitter } from 'node:events';
import type { AmiEvent } from '../../src/ami/connection.js';
import { passesAmiFilters } from '../../src/ami/filter.js';

export class AmiFeeder extends EventEmitter {
  readonly sent: AmiEvent[] = [];

  constructor(private readonly filters: readonly string[] = []) {
    super();
  }

  send(e: AmiEvent): void {
    if (!passesAmiFilters(this.filters, e)) throw new Error(`the session filter would drop ${e.Event}: ${this.filters.join(' / ')}`);
    this.sent.push(e);
    this.emit('event', e);
  }

  /** Dial() on the caller's channel `uniqueid` starts ringing `agent`. */
  dialBegin(uniqueid: string, agent = '1002', linkedid = uniqueid): void {
    this.send({ Event: 'DialBegin', Channel: `PJSIP/trunk-${uniqueid}`, Uniqueid: uniqueid, Linkedid: linkedid, DestChannel: `PJSIP/${agent}-0000000a`, DialString: agent, Context: 'sticky-ring' });
  }

  dialEnd(uniqueid: string, status: 'ANSWER' | 'NOANSWER' | 'BUSY' | 'CHANUNAVAIL' | 'CONGESTION' | 'CANCEL', linkedid = uniqueid): void {
    this.send({ Event: 'DialEnd', Channel: `PJSIP/trunk-${uniqueid}`, Uniqueid: uniqueid, Linkedid: linkedid, DialStatus: status, Context: 'sticky-ring' });
  }

  hangup(uniqueid: string, linkedid = uniqueid): void {
    this.send({ Event: 'Hangup', Channel: `PJSIP/trunk-${uniqueid}`, Uniqueid: uniqueid, Linkedid: linkedid, Cause: '16' });
  }
}
