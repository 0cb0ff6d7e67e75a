// Every queue ROUTES_FILE names (per-DID "queue") exists on the PBX.
import { fix, ok, type Check, type Verdict } from '../check.js';
import { routeNames } from '../routes-file.js';

export const queuesCheck: Check = {
  name: 'queues',
  async run({ config, ami }) {
    const named = routeNames(config.ROUTES_FILE).queues;
    if (named.length === 0) return ok(`no queue named in ROUTES_FILE${config.ROUTES_FILE ? '' : ' (unset)'}: nothing to check`);
    const session = await ami();
    const out: Verdict[] = [];
    for (const name of [...new Set(named.map((q) => q.queue))]) {
      const events = await session.list({ Action: 'QueueStatus', Queue: name });
      const params = events.find((e) => e.Event === 'QueueParams' && e.Queue === name);
      const dids = named.filter((q) => q.queue === name).map((q) => q.did).join(', ');
      if (!params) out.push(fix(`queue ${JSON.stringify(name)} (ROUTES_FILE ${dids}) does not exist on the PBX: add it to queues.conf and \`queue reload all\`, or fix the name`));
      else out.push(ok(`queue ${JSON.stringify(name)} (ROUTES_FILE ${dids}) exists, ${events.filter((e) => e.Event === 'QueueMember' && e.Queue === name).length} members`));
    }
    return out;
  },
};
