// Two harness PBXs for the several-PBXs tests: the usual one (pbx-a, this
// process's network namespace) and a second one (pbx-b, test/harness/peer.ts),
// joined by a PJSIP trunk over a veth pair. pbx-a gets its end of the trunk for
// the test's duration only, so the other test files see the PBX they expect.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, defaultPbx, type HarnessPbx } from '../harness/asterisk.js';
import { firstPbxTrunk, peerDown, peerPbx, peerUp } from '../harness/peer.js';

export { peerPbx };
export { peerAddresses, peerNetns } from '../harness/peer.js';

const trunkFile = join(defaultPbx.paths.rootDir, 'etc/asterisk/pjsip_peers.conf');
const log = (m: string) => process.stderr.write(`peer-pbx: ${m}\n`);

/** Waits until `pbx` qualifies the trunk contact `aor` as reachable. */
async function waitTrunk(pbx: HarnessPbx, aor: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = cli(`pjsip show contacts`, pbx);
    if (new RegExp(`${aor}/sip:\\S+\\s+\\S+\\s+Avail`).test(out)) return;
    if (Date.now() > deadline) throw new Error(`trunk ${aor} not reachable from ${pbx.systemName ?? 'pbx-a'}: ${out.split('\n').filter((l) => l.includes(aor)).join(' | ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** pbx-b up in its namespace, pbx-a's end of the trunk loaded, both ends qualified. */
export async function startPeerPbx(): Promise<void> {
  await peerUp(log);
  writeFileSync(trunkFile, firstPbxTrunk);
  cli('module reload res_pjsip.so');
  await Promise.all([waitTrunk(defaultPbx, 'pbx-b'), waitTrunk(peerPbx, 'pbx-a')]);
}

export async function stopPeerPbx(): Promise<void> {
  if (existsSync(trunkFile)) {
    rmSync(trunkFile);
    cli('module reload res_pjsip.so');
  }
  await peerDown(log);
}

/** Active channels on `pbx`, from its CLI (its ARI is out of this namespace's reach). */
export function channelCount(pbx: HarnessPbx): number {
  const m = /(\d+) active channels?/.exec(cli('core show channels count', pbx));
  return m ? Number(m[1]) : NaN;
}

export async function waitPeerChannelsGone(timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (channelCount(peerPbx) !== 0) {
    if (Date.now() > deadline) throw new Error(`pbx-b still has channels: ${cli('core show channels concise', peerPbx).trim()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Hangs up whatever an aborted scenario left on pbx-b. */
export function hangupPeerChannels(): void {
  cli('channel request hangup all', peerPbx);
}
