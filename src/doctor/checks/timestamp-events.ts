// manager.conf timestampevents = yes: every AMI event carries the PBX's epoch time,
// which is how the router places CDRs in time whatever the PBX's zone.
import { isTrue, lastValue } from '../ami-session.js';
import { fix, ok, type Check } from '../check.js';

export const timestampEventsCheck: Check = {
  name: 'timestampevents',
  async run({ ami }) {
    const manager = await (await ami()).config('manager.conf');
    const v = lastValue(manager, 'general', 'timestampevents');
    return isTrue(v)
      ? ok('manager.conf [general] timestampevents = yes')
      : fix(`manager.conf [general] timestampevents = ${v ?? '(unset, default no)'}: set timestampevents = yes and \`manager reload\` (events then carry the PBX's epoch time)`);
  },
};
