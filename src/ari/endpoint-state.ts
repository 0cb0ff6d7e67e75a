// One agent's state straight from ARI, for commands that run outside the router
// (the router itself keeps a cache fed by events: src/ari/agent-state.ts).
import type { AgentState } from '../routing/decide.js';

export async function fetchAgentState(baseUrl: string, username: string, password: string, agent: string, timeoutMs = 1000): Promise<AgentState> {
  try {
    const res = await fetch(new URL(`/ari/endpoints/PJSIP/${encodeURIComponent(agent)}`, baseUrl), {
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return 'unknown';
    const ep = (await res.json()) as { state?: string; channel_ids?: unknown[] };
    if (ep.state === 'offline') return 'offline';
    if ((ep.channel_ids?.length ?? 0) > 0) return 'busy';
    return ep.state === 'online' ? 'online' : 'unknown';
  } catch {
    return 'unknown';
  }
}
