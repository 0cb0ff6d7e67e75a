// Carrying out a decision is the dialplan's job (dialplan/sticky-router.conf): the
// router leaves Stasis with one ARI `continue` whose extension carries the decision,
// because an extra request per call costs set-up time and an ARI-bridged call dies
// with the router. Extension formats:
//   [sticky-ring]      <agent>~<ring seconds>~<fallback context>~<fallback exten>[~on|off]
//                      (a queue member's own interface goes in STICKY_DIAL, set just before)
//   [sticky-fallback]  <reason>~<fallback context>~<fallback exten>[~on|off]
// The last field says whether the call is recorded (RECORDINGS and the DID's
// "record"); without it the dialplan does not record.
import type { Decision } from '../routing/decide.js';
import { contexts } from '../dialplan.js';

export interface DialplanTarget {
  context: string;
  extension: string;
  priority: number;
}

const safe = (v: string) => v.replace(/[^A-Za-z0-9_+.-]/g, '');

export function dialplanTarget(d: Decision, record?: boolean): DialplanTarget {
  const fb = `${safe(d.fallback.context)}~${safe(d.fallback.extension)}${record === undefined ? '' : record ? '~on' : '~off'}`;
  if (d.action === 'fallback') return { context: contexts.fallback, extension: `${d.reason}~${fb}`, priority: 1 };
  const seconds = Math.max(1, Math.round(d.ringTimeoutMs / 1000));
  return { context: contexts.ring, extension: `${safe(d.agent)}~${seconds}~${fb}`, priority: 1 };
}
