// The dialplan (dialplan/sticky-router.conf) and the router agree on names: every
// context the router hands calls to and every channel variable it reads from AMI
// (src/dialplan.ts) is defined or set there, and the hand-off extensions the router
// builds (src/ari/handoff.ts) match the contexts' patterns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { channelVars, contexts } from '../../src/dialplan.js';
import { dialplanTarget } from '../../src/ari/handoff.js';

const conf = readFileSync(join(import.meta.dirname, '..', '..', 'dialplan', 'sticky-router.conf'), 'utf8');
const fallback = { context: 'ivr', extension: 's' };

/** The extension patterns of `[context]`, as Asterisk would match them (the subset the file uses). */
function patterns(context: string): RegExp[] {
  const body = conf.split(/^\[/m).find((s) => s.startsWith(`${context}]`)) ?? '';
  return [...body.matchAll(/^exten => (\S+?),1,/gm)].map((m) => {
    const p = m[1]!;
    if (!p.startsWith('_')) return new RegExp(`^${p}$`);
    const re = p.slice(1).replace(/\[([^\]]+)\]|X|\.|./g, (c, set: string | undefined) => (set ? `[${set}]` : c === 'X' ? '[0-9]' : c === '.' ? '.+' : c.replace(/[+~]/g, '\\$&')));
    return new RegExp(`^${re}$`);
  });
}

test('every context the router uses is defined in the dialplan', () => {
  for (const c of Object.values(contexts)) assert.ok(patterns(c).length > 0, `[${c}] with an extension in dialplan/sticky-router.conf`);
});

test('every channel variable the router reads is set by the dialplan, inherited', () => {
  // Set(__X=…), or one pair of an MSet (the dialplan sets several variables per priority).
  for (const v of [channelVars.did, channelVars.agent, channelVars.reason]) assert.match(conf, new RegExp(`(?:Set\\(|MSet\\([^\\n]*,)__${v}=`), `Set(__${v}=…) or MSet(…,__${v}=…)`);
});

test('the variable the router sets before a hand-off is what [sticky-ring] dials', () => {
  assert.match(conf, new RegExp(`Dial\\(\\$\\{IF\\(\\$\\[\\$\\{LEN\\(\\$\\{${channelVars.dial}\\}\\)\\}\\]\\?\\$\\{${channelVars.dial}\\}`));
});

test('doctor checks the contexts the router uses', async () => {
  const { stickyContexts } = await import('../../src/doctor/checks/dialplan.js');
  assert.deepEqual([...stickyContexts].sort(), Object.values(contexts).sort());
});

test('the hand-off extensions match their context\'s pattern', () => {
  const ring = dialplanTarget({ action: 'ring', reason: 'sticky_agent', agent: '1002', ringTimeoutMs: 20_000, fallback });
  const fb = dialplanTarget({ action: 'fallback', reason: 'agent_offline', agent: '1002', fallback });
  assert.equal(ring.context, contexts.ring);
  assert.equal(fb.context, contexts.fallback);
  assert.ok(patterns(contexts.ring).some((p) => p.test(ring.extension)), ring.extension);
  assert.ok(patterns(contexts.fallback).some((p) => p.test(fb.extension)), fb.extension);
  assert.ok(patterns(contexts.inbound).some((p) => p.test('+12025550100')) && patterns(contexts.inbound).some((p) => p.test('100')));
  // With the recording flag (RECORDINGS on, per DID "record").
  for (const record of [true, false]) {
    const t = dialplanTarget({ action: 'ring', reason: 'sticky_agent', agent: '1002', ringTimeoutMs: 20_000, fallback }, record);
    assert.ok(patterns(contexts.ring).some((p) => p.test(t.extension)), t.extension);
  }
});
