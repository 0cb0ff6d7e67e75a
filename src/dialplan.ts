// The names the router shares with its dialplan (dialplan/sticky-router.conf): the
// contexts it hands calls to and the channel variables passed either way. One place,
// read by the code (hand-off, abandon tracking, sticky queue_log, doctor) and by
// test/unit/dialplan.test.ts, which checks that the dialplan file defines each of them.
export const contexts = {
  /** Where a DID enters: Set(__STICKY_DID), then Stasis(STICKY_APP, DID). */
  inbound: 'sticky-inbound',
  /** <agent>~<ring seconds>~<fallback context>~<fallback exten>: Dial() the sticky agent. */
  ring: 'sticky-ring',
  /** <reason>~<fallback context>~<fallback exten>: straight to the fallback. */
  fallback: 'sticky-fallback',
} as const;

/** Channel variables the dialplan sets (inherited ones as `__NAME`); AMI VarSet names them. */
export const channelVars = {
  /** The DID the caller dialled ([sticky-inbound]). */
  did: 'STICKY_DID',
  /** The sticky agent being rung ([sticky-ring]). */
  agent: 'STICKY_AGENT',
  /** The reason code the caller reached the fallback with. */
  reason: 'STICKY_REASON',
  /** Set by the router before a hand-off to [sticky-ring]: the queue member's own interface to dial (hot desk, Local/…@from-queue/n). */
  dial: 'STICKY_DIAL',
} as const;

/** Matches a VarSet's Variable for `name`, inherited (`_NAME`, `__NAME`) or not. */
export const varSetName = (name: string): RegExp => new RegExp(`^_{0,2}${name}$`);
