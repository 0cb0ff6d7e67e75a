// The learning path of one CDR: reject a forged AMI Cdr event, map it to a CDR
// document (src/cdr/from-ami.ts: queue calls take their talk time from AgentComplete
// and their agent from AgentConnect), attach its recording, keep it (on disk first,
// or in the write buffer while the disk refuses: once kept, a crash cannot lose it)
// and tell whoever learns from it. The live AMI path and the backfill (CDRs read back
// from Asterisk's store) both end in keep(). Used by the router (src/app.ts) and by
// the ingest benchmark (test/bench/ingest.ts).
import type { AmiConsumer } from '../ami/filter.js';
import type { Logger } from '../log.js';
import { QueueAttribution, queueAttributionEvents } from '../queue/attribution.js';
import { cdrFromAmiEvent, forgedCdr, type AmiFields, type CdrFromAmiOptions } from './from-ami.js';
import type { PbxTimes } from './pbx-time.js';
import { QueueTalkTimes } from './queue-talk-times.js';
import type { CdrDocument } from './schema.js';

/** What CDR ingest reads from AMI. */
export const cdrIngestEvents: AmiConsumer = { name: 'CDR ingest', events: ['Cdr', 'AgentComplete', ...queueAttributionEvents] };

export type KeepOutcome = 'new' | 'buffered' | 'known' | 'refused';

export interface CdrIngestDeps {
  /** Where a CDR is kept first: the journal (through its write buffer). */
  store: { append: (doc: CdrDocument) => KeepOutcome };
  /** A CDR just kept (`held`: in memory until the disk takes it): the memory layer, the shipper, monitoring, follow-ups. */
  learn: (doc: CdrDocument, held: boolean) => void;
  /** The recording of the call, from the Cdr event's fields (src/recordings). */
  attachRecording?: (doc: CdrDocument, event: AmiFields) => void;
  /** The PBX's clock as the live Cdr events show it (src/cdr/pbx-clock.ts). */
  observeTimes?: (t: PbxTimes) => void;
  log: Logger;
  /** How a CDR is read: agent channels, region, minimum talk, the router's annotation, the PBX's time zone. */
  mapping: Omit<CdrFromAmiOptions, 'connectedSeconds' | 'queueMember' | 'receivedAt' | 'onTimes'>;
}

export class CdrIngest {
  private readonly queueTalk = new QueueTalkTimes();
  private readonly attribution = new QueueAttribution();

  constructor(private readonly deps: CdrIngestDeps) {}

  /** Built per CDR: deps.mapping may carry getters (the PBX's name, known once AMI says). */
  private mapping(): CdrFromAmiOptions {
    return {
      ...this.deps.mapping,
      connectedSeconds: (uniqueid, dstchannel) => this.queueTalk.take(uniqueid, dstchannel),
      queueMember: (uniqueid, dstchannel) => this.attribution.take(uniqueid, dstchannel),
    };
  }

  onAmiEvent(e: AmiFields): void {
    this.queueTalk.onAmiEvent(e);
    this.attribution.onAmiEvent(e);
    if (e.Event === 'Cdr') this.ingest(e);
  }

  /** One live Cdr event; the document kept, or undefined when rejected, not a CDR, known or refused. */
  ingest(e: AmiFields): CdrDocument | undefined {
    const forged = forgedCdr(e);
    if (forged) {
      // Not learned from: a caller could otherwise make their call teach another number.
      this.deps.log.warn({ reason: forged, uniqueid: e.UniqueID }, 'cdr event rejected');
      return undefined;
    }
    const doc = cdrFromAmiEvent(e, { ...this.mapping(), receivedAt: Date.now(), onTimes: this.deps.observeTimes });
    if (!doc) return undefined;
    this.deps.attachRecording?.(doc, e);
    return this.keep(doc) === 'new' ? doc : undefined;
  }

  /** A Cdr read back from Asterisk's CDR store (backfill): the same mapping, no clock observation. */
  toDoc(fields: AmiFields): CdrDocument | undefined {
    const doc = cdrFromAmiEvent(fields, this.mapping());
    if (doc) this.deps.attachRecording?.(doc, fields);
    return doc;
  }

  /** The live path and the backfill alike: disk first (or the write buffer), then whoever learns. */
  keep(doc: CdrDocument): 'new' | 'known' | 'refused' {
    // Once append returns 'new', a crash cannot lose this CDR; 'buffered' waits in memory for the disk.
    const r = this.deps.store.append(doc);
    if (r === 'known' || r === 'refused') return r;
    this.deps.learn(doc, r === 'buffered');
    this.deps.log.debug({ cdr: doc.id, agent: doc.agent, talked: doc.talked, direction: doc.direction, held: r === 'buffered' }, 'cdr journaled');
    return 'new';
  }
}
