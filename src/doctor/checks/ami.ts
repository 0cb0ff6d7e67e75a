// AMI logs in with these credentials (every AMI check below needs it).
import { AmiAuthError } from '../../ami/connection.js';
import { fix, ok, type Check } from '../check.js';

export const amiCheck: Check = {
  name: 'ami',
  async run({ config, ami }) {
    try {
      const session = await ami();
      const s = await session.action({ Action: 'CoreSettings' });
      return ok(`AMI at ${config.AMI_HOST}:${config.AMI_PORT} accepts user ${JSON.stringify(config.AMI_USERNAME)} (Asterisk ${String(s.AsteriskVersion ?? '?')}, AMI ${String(s.AMIversion ?? '?')})`);
    } catch (err) {
      if (err instanceof AmiAuthError) return fix(`${err.message}`);
      return fix(`AMI at ${config.AMI_HOST}:${config.AMI_PORT} not reachable (${(err as Error).message}): set AMI_HOST/AMI_PORT, and enabled = yes, port and bindaddr in manager.conf [general]`);
    }
  },
};
