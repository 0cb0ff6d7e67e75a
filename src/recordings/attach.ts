// Gives a CDR its recording: the dialplan's CDR(recording) arrives as the Cdr
// event's `Recording` field (cdr_manager.conf [mappings]), a path inside
// RECORDINGS_DIR. The file must be there, of the dialplan's shape, and a WAV; its
// size and duration go into the document. A bad or missing file leaves the CDR
// without a recording (logged), never without the CDR.
import type { CdrDocument } from '../cdr/schema.js';
import type { Logger } from '../log.js';
import type { RecordingStore } from './store.js';
import { wavFileMeta } from './wav.js';

/** The Cdr field that carries CDR(recording). */
export const recordingField = 'Recording';

export function attachRecording(doc: CdrDocument, event: Record<string, string | undefined>, store: RecordingStore, log?: Logger): void {
  const rel = (event[recordingField] ?? event[recordingField.toLowerCase()] ?? '').trim();
  if (rel === '') return;
  const found = store.resolveSync(rel);
  if (!found) {
    log?.warn({ uniqueid: doc.asterisk.uniqueid, file: rel.slice(0, 200) }, 'recording named by the CDR is not in RECORDINGS_DIR');
    return;
  }
  try {
    doc.recording = { file: rel, ...wavFileMeta(found.path, found.stat.size) };
  } catch (err) {
    log?.warn({ uniqueid: doc.asterisk.uniqueid, file: rel, err: (err as Error).message }, 'recording is not a readable WAV file');
  }
}
