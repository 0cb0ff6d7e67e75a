// What ARI says about an agent's endpoint, as the routing decision's AgentState: the
// one mapping for the router's event-fed cache (src/ari/agent-state.ts) and for the
// commands that ask ARI directly.
import type { AgentState } from '../routing/decide.js';

/** An ARI endpoint (GET /endpoints): offline, or online with or without channels. */
export function agentStateOfEndpoint(ep: { state?: string; channel_ids?: unknown }): AgentState {
  if (ep.state === 'offline') return 'offline';
  if (Array.isArray(ep.channel_ids) && ep.channel_ids.length > 0) return 'busy';
  return ep.state === 'online' ? 'online' : 'unknown';
}

/** A device state (DeviceStateChanged): NOT_INUSE, INUSE, BUSY, RINGING, RINGINUSE, ONHOLD, UNAVAILABLE, INVALID, UNKNOWN. */
export function agentStateOfDevice(s: string): AgentState {
  switch (s) {
    case 'NOT_INUSE':
      return 'online';
    case 'UNAVAILABLE':
    case 'INVALID':
      return 'offline';
    case 'UNKNOWN':
      return 'unknown';
    default:
      return 'busy';
  }
}

// app_queue reports a member's device state as its number (QueueMember Status).
const deviceStateNames = ['UNKNOWN', 'NOT_INUSE', 'INUSE', 'BUSY', 'INVALID', 'UNAVAILABLE', 'RINGING', 'RINGINUSE', 'ONHOLD'] as const;

/** A device state by number (AMI QueueMember/QueueMemberStatus `Status`, 0-8); anything else is unknown. */
export function agentStateOfDeviceCode(n: number): AgentState {
  return agentStateOfDevice(deviceStateNames[n] ?? 'UNKNOWN');
}

/** One agent's state straight from ARI, for commands that run outside the router. */
export async function fetchAgentState(baseUrl: string, username: string, password: string, agent: string, timeoutMs = 1000): Promise<AgentState> {
  try {
    const res = await fetch(new URL(`/ari/endpoints/PJSIP/${encodeURIComponent(agent)}`, baseUrl), {
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return 'unknown';
    return agentStateOfEndpoint((await res.json()) as { state?: string; channel_ids?: unknown });
  } catch {
    return 'unknown';
  }
}
