// The router's manager.conf user has the read and write classes it needs (README).
// Read back with GetConfig: the router's user has no `command` class (nor should it:
// that class runs any CLI command), so `manager show user` is not available to it.
import { lastValue } from '../ami-session.js';
import { fix, ok, type Check } from '../check.js';

/** What the router reads (events) and does (actions); `system` also lets it filter its session. */
export const requiredRead = ['system', 'call', 'agent', 'cdr', 'user', 'dialplan', 'reporting'] as const;
export const requiredWrite = ['system', 'call', 'agent', 'originate', 'reporting'] as const;

function classes(v: string | undefined): Set<string> {
  return new Set((v ?? '').split(',').map((c) => c.trim().toLowerCase()).filter(Boolean));
}

export const managerUserCheck: Check = {
  name: 'manager-user',
  async run({ config, ami }) {
    const manager = await (await ami()).config('manager.conf');
    const user = config.AMI_USERNAME;
    if (!manager.has(user)) return fix(`manager.conf has no [${user}] section (users from realtime or a file GetConfig does not read cannot be checked): add it with read = ${requiredRead.join(',')} and write = ${requiredWrite.join(',')}`);
    const read = classes(lastValue(manager, user, 'read'));
    const write = classes(lastValue(manager, user, 'write'));
    const missingRead = read.has('all') ? [] : requiredRead.filter((c) => !read.has(c));
    const missingWrite = write.has('all') ? [] : requiredWrite.filter((c) => !write.has(c));
    if (missingRead.length || missingWrite.length) {
      const parts = [missingRead.length ? `read lacks ${missingRead.join(',')}` : '', missingWrite.length ? `write lacks ${missingWrite.join(',')}` : ''].filter(Boolean).join('; ');
      return fix(`manager.conf [${user}]: ${parts}: set read = ${requiredRead.join(',')} and write = ${requiredWrite.join(',')}, then \`manager reload\``);
    }
    return ok(`manager.conf [${user}] read = ${[...read].join(',')}; write = ${[...write].join(',')}`);
  },
};
