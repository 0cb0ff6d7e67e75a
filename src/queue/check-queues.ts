// ROUTES_FILE names queues; a name the PBX does not have would silently turn off
// the queue checks for that DID (every agent "logged out"). Refuse to start instead.
import { ConfigError } from '../config.js';
import type { DidPolicies } from '../routing/did-policy.js';
import type { QueueState } from './members.js';

export async function checkRouteQueues(policies: DidPolicies, state: QueueState, refresh: () => Promise<unknown>): Promise<void> {
  const wanted = policies.queues();
  if (wanted.length === 0) return;
  try {
    await refresh();
  } catch (err) {
    throw new ConfigError(`ROUTES_FILE names queues (${wanted.join(', ')}) but their state could not be read over AMI (QueueStatus): ${(err as Error).message}; the AMI user needs read = agent`);
  }
  const unknown = wanted.filter((q) => !state.knows(q));
  if (unknown.length > 0) {
    const have = state.queueNames;
    throw new ConfigError(`ROUTES_FILE: queue ${unknown.map((q) => JSON.stringify(q)).join(', ')} is not a queue on this PBX (it has: ${have.length ? have.join(', ') : 'none'})`);
  }
}
