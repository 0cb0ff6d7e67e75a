// A second harness PBX for the several-PBXs tests (issue 19): its own network
// namespace (`<this namespace's harness name>-b`, e.g. sticky-i19-b), its own
// HARNESS_DIR, SystemName `pbx-b`, and a PJSIP trunk to the first PBX over a veth
// pair (10.254.19.1 here, 10.254.19.2 there). The first PBX gets the other end of
// the trunk for as long as a test needs it (peerTrunkConf + `pjsip reload`).
// Both run the repo's configs otherwise: same agents, queues and dialplan.
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { defaultPbx, down, up, type HarnessPbx } from './asterisk.js';
import { harnessPaths, runDir } from './paths.js';

/** The PJSIP port of the trunk between PBXs (the agents' and carrier's transport stays on 127.0.0.1:5060). */
export const peerSipPort = 5062;

export interface PeerTrunk {
  /** This PBX's name for the other one: the endpoint PBX_ROUTES dials through (PJSIP/${agent}@<peer>). */
  peer: string;
  /** Where the other PBX's trunk listens: an IP or a host name (compose: its service name). */
  peerHost: string;
  /** What this PBX's trunk transport binds, e.g. 10.254.19.1 (harness) or 0.0.0.0 (compose). */
  bind: string;
  /** The address this PBX puts in SDP on the trunk; unset: the transport's. */
  mediaAddress?: string;
}

/** pjsip_peers.conf: one trunk to another PBX of the same contact centre. Calls from it enter [from-pbx]. */
export function peerTrunkConf(t: PeerTrunk): string {
  const media = t.mediaAddress ? `media_address = ${t.mediaAddress}\nbind_rtp_to_media_address = yes\n` : '';
  return `; Trunk to ${t.peer}, another PBX of this contact centre (README: Several PBXs).
[transport-pbx]
type = transport
protocol = udp
bind = ${t.bind}:${peerSipPort}

[${t.peer}]
type = endpoint
transport = transport-pbx
context = from-pbx
disallow = all
allow = ulaw,alaw
direct_media = no
${media}rtp_symmetric = yes
; The customer's number as the other PBX had it: this PBX's CDR names the caller.
trust_id_inbound = yes
trust_id_outbound = yes
aors = ${t.peer}

[${t.peer}]
type = aor
contact = sip:${t.peerHost}:${peerSipPort}
; Qualify: a dead peer PBX fails Dial() at once (CHANUNAVAIL) instead of after SIP timer B.
qualify_frequency = 5
qualify_timeout = 1.0

[${t.peer}]
type = identify
endpoint = ${t.peer}
match = ${t.peerHost}
`;
}

/**
 * docker/multi-pbx/<pbx>/pjsip_peers.conf, the compose deployment's trunks
 * (docker/compose.multi-pbx.yml): the same trunk, between the services `asterisk`
 * (pbx-a) and `asterisk-b` (pbx-b) on the compose network. test/unit/compose.test.ts
 * checks the files are this.
 */
export const composePeerTrunks = {
  'pbx-a': peerTrunkConf({ peer: 'pbx-b', peerHost: 'asterisk-b', bind: '0.0.0.0' }),
  'pbx-b': peerTrunkConf({ peer: 'pbx-a', peerHost: 'asterisk', bind: '0.0.0.0' }),
} as const;

export const peerAddresses = { here: '10.254.19.1', there: '10.254.19.2', prefix: 30 } as const;

/** The peer namespace's name: this harness's name plus `-b` (sticky-i19 → sticky-i19-b; CI: sticky-router-harness-b). */
export const peerNetns = `${basename(runDir)}-b`;

/** The second PBX: pbx-b in the peer namespace, trunk `pbx-a` back to this one. */
export const peerPbx: HarnessPbx = {
  paths: harnessPaths(`${runDir}-b`),
  netns: peerNetns,
  systemName: 'pbx-b',
  extraConfigs: { 'pjsip_peers.conf': peerTrunkConf({ peer: 'pbx-a', peerHost: peerAddresses.here, bind: peerAddresses.there, mediaAddress: peerAddresses.there }) },
};

/** This (first) PBX's end of the trunk, for pjsip_peers.conf in its running root. */
export const firstPbxTrunk = peerTrunkConf({ peer: 'pbx-b', peerHost: peerAddresses.there, bind: peerAddresses.here, mediaAddress: peerAddresses.here });

function ip(args: string[], ns?: string): { ok: boolean; out: string } {
  const argv = ns ? ['netns', 'exec', ns, 'ip', ...args] : args;
  const r = spawnSync('ip', argv, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const vethHere = 'sticky-pbx-a';
const vethThere = 'sticky-pbx-b';

/**
 * Creates the peer namespace (when this process runs in the host's mount
 * namespace, as in CI) and the veth pair into it (idempotent). Inside
 * netns-run.sh, `ip netns exec` gave this process a private mount namespace: a
 * namespace added from here would be bound to a /run/netns entry nobody else
 * sees, so netns-run.sh adds `<name>-b` beforehand.
 */
export function ensurePeerLink(): void {
  if (!ip(['netns', 'list']).out.split('\n').some((l) => l.split(' ')[0] === peerNetns)) {
    if (process.env.HARNESS_NETNS) throw new Error(`network namespace ${peerNetns} missing: netns-run.sh creates it; run the test through test/harness/netns-run.sh`);
    const r = ip(['netns', 'add', peerNetns]);
    if (!r.ok) throw new Error(`ip netns add ${peerNetns}: ${r.out.trim()}`);
  }
  ip(['link', 'set', 'lo', 'up'], peerNetns);
  if (!ip(['link', 'show', vethHere]).ok) {
    const r = ip(['link', 'add', vethHere, 'type', 'veth', 'peer', 'name', vethThere, 'netns', peerNetns]);
    if (!r.ok) throw new Error(`veth pair into ${peerNetns}: ${r.out.trim()}`);
  }
  const addr = (a: string) => `${a}/${peerAddresses.prefix}`;
  if (!ip(['addr', 'show', 'dev', vethHere]).out.includes(peerAddresses.here)) ip(['addr', 'add', addr(peerAddresses.here), 'dev', vethHere]);
  if (!ip(['addr', 'show', 'dev', vethThere], peerNetns).out.includes(peerAddresses.there)) ip(['addr', 'add', addr(peerAddresses.there), 'dev', vethThere], peerNetns);
  ip(['link', 'set', vethHere, 'up']);
  ip(['link', 'set', vethThere, 'up'], peerNetns);
  if (!ip(['route', 'get', peerAddresses.there]).out.includes(vethHere)) throw new Error(`no route to ${peerAddresses.there} over ${vethHere}`);
}

export async function peerUp(log: (m: string) => void): Promise<void> {
  ensurePeerLink();
  await up(log, { pbx: peerPbx });
}

/** Stops the second PBX. The namespace and veth pair stay, like netns-run.sh's own namespace. */
export async function peerDown(log: (m: string) => void): Promise<void> {
  await down(log, peerPbx);
}

export { defaultPbx };
