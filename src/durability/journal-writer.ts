// The journal's writes through a WriteBuffer: a CDR or abandon record that the
// disk refuses is held in memory, in order, and written when the disk takes it.
// Appends are committed once per event-loop turn (Journal.appendInTurn); when that
// commit fails, the turn's records are held here like any refused write.
import type { Journal, JournalDoc, RecordKind, TurnItem } from '../cdr/journal.js';
import type { Logger } from '../log.js';
import { WriteBuffer, type WriteState } from './write-buffer.js';

export type AppendOutcome = 'new' | 'known' | 'buffered' | 'refused';

type Item = TurnItem;

export interface JournalWriterOptions {
  max: number;
  log: Logger;
  /** A held record reached the disk (ship it now). */
  onWritten?: (doc: JournalDoc, added: boolean) => void;
  onStateChange?: (state: WriteState) => void;
}

export class JournalWriter {
  readonly buffer: WriteBuffer<Item, boolean>;
  /** Ids held in memory, so a backfill or an AMI resend does not hold a record twice. */
  private readonly held = new Set<string>();

  constructor(private readonly journal: Journal, o: JournalWriterOptions) {
    this.buffer = new WriteBuffer<Item, boolean>({
      name: 'journal',
      max: o.max,
      log: o.log,
      // Committed with the other appends of this event-loop turn (Journal.appendInTurn).
      write: (i) => journal.appendInTurn(i.doc, i.kind),
      commit: () => journal.commitTurn(),
      onWritten: (i, added) => {
        this.held.delete(i.doc.id);
        o.onWritten?.(i.doc, added);
      },
      onStateChange: o.onStateChange,
    });
    // A turn whose commit failed: its records were reported 'new'; hold them, first and in order.
    journal.onTurnFailed = (items, err) => {
      for (const i of items) this.held.add(i.doc.id);
      this.buffer.holdFront(items, err);
    };
  }

  append(doc: JournalDoc, kind: RecordKind = 'cdr'): AppendOutcome {
    if (this.held.has(doc.id)) return 'known';
    const r = this.buffer.submit({ doc, kind });
    if (r.status === 'written') return r.result ? 'new' : 'known';
    if (r.status === 'buffered') this.held.add(doc.id);
    return r.status;
  }

  /** Journaled or held in memory. */
  has(id: string): boolean {
    return this.held.has(id) || this.journal.has(id);
  }

  get failing(): boolean {
    return this.buffer.state !== 'ok';
  }
}
