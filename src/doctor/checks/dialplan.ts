// The dialplan include is loaded (sticky-router.conf's contexts), sticky-inbound enters
// Stasis, and every fallback target (FALLBACK_CONTEXT/EXTENSION, ROUTES_FILE) exists.
import type { AmiEvent } from '../../ami/connection.js';
import type { DoctorAmi } from '../ami-session.js';
import { fix, ok, type Check, type Verdict } from '../check.js';
import { routeNames } from '../routes-file.js';
import { contexts } from '../../dialplan.js';

export const stickyContexts = [contexts.inbound, contexts.ring, contexts.fallback] as const;

/** The context's priorities, or the reason Asterisk gave for having none. */
async function showDialplan(ami: DoctorAmi, context: string, extension?: string): Promise<AmiEvent[] | string> {
  try {
    return await ami.list({ Action: 'ShowDialPlan', Context: context, ...(extension ? { Extension: extension } : {}) });
  } catch (err) {
    return (err as Error).message.replace(/^AMI ShowDialPlan failed: /, '');
  }
}

export const dialplanCheck: Check = {
  name: 'dialplan',
  async run({ config, ami }) {
    const session = await ami();
    const out: Verdict[] = [];
    for (const context of stickyContexts) {
      const rows = await showDialplan(session, context);
      if (typeof rows === 'string' || rows.length === 0) {
        out.push(fix(`context [${context}] is not loaded (${typeof rows === 'string' ? rows : 'empty'}): copy dialplan/sticky-router.conf to /etc/asterisk, add \`#include sticky-router.conf\` to extensions.conf, run \`dialplan reload\``));
        continue;
      }
      if (context === contexts.inbound) {
        const stasis = rows.find((r) => String(r.Application).toLowerCase() === 'stasis');
        const data = String(stasis?.AppData ?? '');
        if (!stasis) out.push(fix('[sticky-inbound] has no Stasis() priority: use the sticky-router.conf of this version'));
        else if (!data.startsWith('${STICKY_APP}') && !data.startsWith(config.ARI_APP)) out.push(fix(`[sticky-inbound] enters Stasis(${data}), not ARI_APP ${JSON.stringify(config.ARI_APP)}`));
        else out.push(ok(`context [${context}] loaded (${rows.length} priorities; Stasis(${data}))`));
      } else {
        out.push(ok(`context [${context}] loaded (${rows.length} priorities)`));
      }
    }
    const targets = [{ did: 'FALLBACK_CONTEXT', context: config.FALLBACK_CONTEXT, extension: config.FALLBACK_EXTENSION }, ...routeNames(config.ROUTES_FILE).fallbacks];
    const seen = new Set<string>();
    for (const t of targets) {
      const key = `${t.extension}@${t.context}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const rows = await showDialplan(session, t.context, t.extension);
      const where = t.did === 'FALLBACK_CONTEXT' ? 'FALLBACK_CONTEXT/FALLBACK_EXTENSION' : `ROUTES_FILE ${t.did === 'default' ? 'default' : `DID ${t.did}`} fallback`;
      if (typeof rows === 'string' || rows.length === 0) out.push(fix(`${where} ${t.context},${t.extension} does not exist in the dialplan (${typeof rows === 'string' ? rows : 'no such extension'}): callers sent there would be hung up; point it at your IVR or queue`));
      else out.push(ok(`${where} ${t.context},${t.extension} exists`));
    }
    return out;
  },
};
