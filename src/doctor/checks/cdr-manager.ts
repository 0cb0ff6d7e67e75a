// CDRs reach the router as AMI Cdr events: cdr_manager loaded and enabled, with
// LinkedID mapped in (Asterisk 22 leaves it out; the router joins legs on it).
import { isTrue, lastValue } from '../ami-session.js';
import { fix, ok, type Check, type Verdict } from '../check.js';

export const cdrManagerCheck: Check = {
  name: 'cdr-manager',
  async run({ ami }) {
    const session = await ami();
    const out: Verdict[] = [];
    try {
      await session.action({ Action: 'ModuleCheck', Module: 'cdr_manager' });
    } catch {
      return fix('module cdr_manager is not loaded: the router would learn nothing; `module load cdr_manager.so` (and load it in modules.conf)');
    }
    const conf = await session.config('cdr_manager.conf');
    const enabled = lastValue(conf, 'general', 'enabled');
    out.push(isTrue(enabled) ? ok('cdr_manager loaded, enabled = yes') : fix(`cdr_manager.conf [general] enabled = ${enabled ?? '(unset, default no)'}: set enabled = yes and \`module reload cdr_manager\``));
    const mapping = (conf.get('mappings') ?? []).find(([, v]) => v === 'LinkedID');
    out.push(mapping && mapping[0].toLowerCase() === 'linkedid'
      ? ok('cdr_manager.conf [mappings] linkedid => LinkedID')
      : fix('cdr_manager.conf has no `linkedid => LinkedID` under [mappings]: CDRs arrive without LinkedID and a queue call\'s legs cannot be joined; add it and `module reload cdr_manager`'));
    return out;
  },
};
