// The Stasis application the dialplan enters is the one the router registers (ARI_APP).
import { fix, ok, type Check } from '../check.js';

export const stasisAppCheck: Check = {
  name: 'stasis-app',
  async run({ config, ami }) {
    const session = await ami();
    const v = await session.action({ Action: 'Getvar', Variable: 'GLOBAL(STICKY_APP)' });
    const value = String(v.Value ?? '');
    if (value === '') return fix(`the dialplan global STICKY_APP is not set: add STICKY_APP = ${config.ARI_APP} to [globals] in extensions.conf and run \`dialplan reload\``);
    if (value !== config.ARI_APP) return fix(`the dialplan's STICKY_APP is ${JSON.stringify(value)} but ARI_APP is ${JSON.stringify(config.ARI_APP)}: every call would fail Stasis() and skip the router; make them equal`);
    return ok(`the dialplan's STICKY_APP = ARI_APP = ${JSON.stringify(value)}`);
  },
};
