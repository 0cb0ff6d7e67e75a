// Reason codes: one per way a call can end up where it does. They appear in the
// decision log, in CDRs (sticky_reason), in metrics and in the dialplan (STICKY_REASON).
export const reasons = [
  'sticky_agent', // rang the last agent and bridged (or is ringing)
  'no_history', // no agent talked to this caller within the window
  'invalid_caller', // anonymous, empty or unparseable caller number: no lookup
  'lookup_failed', // the lookup errored or exceeded LOOKUP_TIMEOUT
  'agent_offline', // the agent's endpoint is unreachable/unregistered: not rung
  'agent_busy', // the agent is on another call, in wrap-up, or their phone said busy
  'agent_paused', // the agent is paused in the DID's queue
  'agent_logged_out', // the agent is not (or no longer) a member of the DID's queue
  'agent_no_answer', // rang for the ring timeout, nobody picked up
  'agent_unavailable', // the agent's phone failed (congestion, chanunavail)
  'caller_abandoned', // the caller hung up while the sticky agent rang, or while held for them
  'disabled', // routing is disabled for this DID
] as const;
export type Reason = (typeof reasons)[number];
