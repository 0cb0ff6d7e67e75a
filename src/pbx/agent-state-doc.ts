// The shared index of agents' current states, one document per agent and PBX
// (`${prefix}-agent-states`, _id `<pbx>:<agent>`): how a router on pbx-b knows
// whether 1002 on pbx-a is free, busy or paused before ringing them through the
// trunk. Each router writes its own agents' documents when they change and
// renews them on a heartbeat; a document past `expires_at` belongs to a router
// that went away, and says nothing any more. Pure: no I/O, no clock of its own.
import type { AgentState } from '../routing/decide.js';
import type { DidPolicy } from '../routing/did-policy.js';

export interface QueueEntry {
  queue: string;
  state: AgentState;
  paused_reason?: string;
}

export interface AgentStateDoc {
  /** When the publishing router last wrote it. */
  '@timestamp': string;
  pbx: string;
  agent: string;
  /** The phone's state (ARI device state on the agent's PBX). */
  state: AgentState;
  /** The agent as a member of each of that PBX's queues; absent while its queue state is not known. */
  queues?: QueueEntry[];
  /** After this instant the document is stale: its router stopped renewing it. */
  expires_at: string;
}

export const agentStatesIndex = (prefix: string): string => `${prefix}-agent-states`;
export const agentStateId = (pbx: string, agent: string): string => `${pbx}:${agent}`;

/** What a document says about the agent, for a DID with or without a queue, at `nowMs`. */
export function stateFromDoc(doc: AgentStateDoc | undefined, policy: Pick<DidPolicy, 'queue'>, nowMs: number): { state: AgentState; note?: string } {
  if (!doc) return { state: 'unknown', note: 'no_state_published' };
  const expires = Date.parse(doc.expires_at);
  if (!Number.isFinite(expires) || expires <= nowMs) return { state: 'unknown', note: 'state_expired' };
  // The same rule as for a local agent (resolve.ts candidateFor): the DID's queue
  // decides where it names one and that PBX's queue state is known.
  if (!policy.queue || !doc.queues) return { state: doc.state };
  const entry = doc.queues.find((q) => q.queue === policy.queue);
  return { state: entry ? entry.state : 'logged_out' };
}

/** The content that makes a document differ from the last one written (not its times). */
export function stateKey(doc: Pick<AgentStateDoc, 'state' | 'queues'>): string {
  return JSON.stringify([doc.state, doc.queues ?? null]);
}
