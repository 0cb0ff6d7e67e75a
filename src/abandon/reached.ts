// When is an abandoned caller "reached"? From the CDR of a later conversation:
//   callback_in  they called in and talked to an agent for at least the DID's
//                minimum talk time (the CDR's `talked`, computed with that DID's
//                MIN_TALK_SECONDS)
//   call_out     an agent called them and they answered (ANSWERED, any length)
// Only abandons from before that conversation began are followed up by it.
import type { CdrDocument } from '../cdr/schema.js';
import type { Reached } from './resolution-store.js';

export function reachedFromCdr(doc: CdrDocument): Reached | undefined {
  if (!doc.agent) return undefined;
  const key = doc.customer_e164 ?? (doc.customer_raw && /\d/.test(doc.customer_raw) ? `raw:${doc.customer_raw}` : undefined);
  if (!key) return undefined;
  let how: 'callback_in' | 'call_out';
  if (doc.direction === 'inbound' && doc.talked) how = 'callback_in';
  else if (doc.direction === 'outbound' && doc.asterisk.disposition === 'ANSWERED') how = 'call_out';
  else return undefined;
  const began = Date.parse(doc.asterisk.answer ?? doc.asterisk.start);
  const ended = Date.parse(doc['@timestamp']);
  if (!Number.isFinite(ended)) return undefined;
  return {
    callerKey: key,
    before: Number.isFinite(began) ? began : ended,
    resolution: { resolved_at: new Date(ended).toISOString(), resolved_by: doc.agent, resolved_how: how },
  };
}
