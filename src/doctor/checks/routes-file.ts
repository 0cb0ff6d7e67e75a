// ROUTES_FILE parses as the router would parse it at start.
import { DidPolicies } from '../../routing/did-policy.js';
import { fix, ok, type Check } from '../check.js';

export const routesFileCheck: Check = {
  name: 'routes-file',
  async run({ config }) {
    if (!config.ROUTES_FILE) return ok('ROUTES_FILE unset: every DID uses the environment\'s settings');
    try {
      DidPolicies.load(config);
      return ok(`ROUTES_FILE ${config.ROUTES_FILE} is valid`);
    } catch (err) {
      return fix(`ROUTES_FILE ${config.ROUTES_FILE}: ${(err as Error).message.replace(/^ROUTES_FILE[^:]*: /, '')} (the router would exit 78 at start)`);
    }
  },
};
