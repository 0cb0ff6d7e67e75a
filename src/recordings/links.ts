// Recordings as the API hands them out: the index's hits, each with a freshly
// signed media link and its expiry.
import type { DateTime } from 'luxon';
import type { LinkSigner } from './signer.js';
import type { RecordingHit, RecordingIndex, RecordingQuery } from './search.js';

export interface RecordingAnswer {
  uniqueid: string;
  linkedid?: string;
  number?: string;
  agent?: string;
  started_at: string;
  duration_s: number;
  bytes: number;
  url: string;
  expires_at: string;
}

export interface RecordingLinksOptions {
  index: RecordingIndex;
  signer: LinkSigner;
  /** RECORDING_LINK_TTL in ms. */
  ttlMs: number;
  /** PUBLIC_URL, or the HTTP listener's URL (known once it listens). */
  baseUrl: () => string;
  clock: () => DateTime;
}

export const mediaPrefix = '/media/';

export class RecordingLinks {
  constructor(private readonly o: RecordingLinksOptions) {}

  /** A signed link to `file` (a path inside RECORDINGS_DIR). */
  link(file: string): { url: string; expires_at: string } {
    const expires = this.o.clock().plus({ milliseconds: this.o.ttlMs }).startOf('second');
    return { url: `${this.o.baseUrl()}${mediaPrefix}${this.o.signer.sign(file, expires)}`, expires_at: expires.toUTC().toISO({ suppressMilliseconds: true })! };
  }

  async find(q: RecordingQuery): Promise<{ recordings: RecordingAnswer[] }> {
    const hits = await this.o.index.search(q);
    return { recordings: dedupe(hits).map((h) => this.answer(h)) };
  }

  private answer(h: RecordingHit): RecordingAnswer {
    return {
      uniqueid: h.uniqueid,
      ...(h.linkedid ? { linkedid: h.linkedid } : {}),
      ...(h.number ? { number: h.number } : {}),
      ...(h.agent ? { agent: h.agent } : {}),
      started_at: h.started_at,
      duration_s: h.duration_s,
      bytes: h.bytes,
      ...this.link(h.file),
    };
  }
}

/** One entry per file: several CDR legs of one call can name the same recording. */
function dedupe(hits: RecordingHit[]): RecordingHit[] {
  const seen = new Set<string>();
  return hits.filter((h) => (seen.has(h.file) ? false : (seen.add(h.file), true)));
}
