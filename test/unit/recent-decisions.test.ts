// RecentDecisions (src/routing/recent-decisions.ts): the CDR of a routed call gets its
// DID, final reason and rung agent, and the map does not keep whole calls alive: once
// a call's decision record is written only what a CDR needs stays, and entries past
// their age go on the next write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DateTime } from 'luxon';
import { Call } from '../../src/routing/call.js';
import { CallLifecycle } from '../../src/routing/lifecycle.js';
import { callHooks } from '../../src/routing/call-hooks.js';
import { RecentDecisions } from '../../src/routing/recent-decisions.js';
import { DidPolicies } from '../../src/routing/did-policy.js';
import type { Logger } from '../../src/log.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const silent = { info: () => undefined, debug: () => undefined, warn: () => undefined } as unknown as Logger;

function ringCall(id: string): Call {
  const call = new Call(id, '5551000', { raw: '+12025550100', e164: '+12025550100' }, Date.now(), DateTime.utc());
  return call;
}

function lifecycleFor(call: Call, recent: RecentDecisions): CallLifecycle {
  const hooks = callHooks({
    log: silent,
    metrics: { decision: () => undefined, ring: () => undefined, lookup: () => undefined },
    recent,
    publishAbandon: () => undefined,
    memory: { remember: () => undefined },
    policies: DidPolicies.load({ STICKY_WINDOW: 1800_000 } as never),
  });
  return new CallLifecycle(call, hooks);
}

test('a ringing call reads its live reason; once recorded the CDR note keeps the final one', () => {
  const recent = new RecentDecisions();
  const call = ringCall('1700000000.1');
  const life = lifecycleFor(call, recent);
  life.decide({ action: 'ring', reason: 'sticky_agent', agent: '7001', rank: 1, learnedFrom: 'talk', pbx: 'pbx-b', ringTimeoutMs: 20_000, fallback: { context: 'ivr', extension: 's' } });
  life.handingOff();
  life.handedOff();
  life.settle();
  assert.deepEqual(recent.annotate('1700000000.1'), { did: '5551000', reason: 'sticky_agent', rangAgent: '7001', rangPbx: 'pbx-b' });
  life.ringing();
  life.ringEnded('NOANSWER');
  assert.ok(life.isLogged);
  assert.deepEqual(recent.annotate('1700000000.1'), { did: '5551000', reason: 'agent_no_answer', rangAgent: '7001', rangPbx: 'pbx-b' });
  // By linkedid too (the agent leg's CDR).
  assert.equal(recent.annotate('nope', '1700000000.1')?.reason, 'agent_no_answer');
  assert.equal(recent.annotate('nope'), undefined);
});

test('a recorded call is not kept alive by the map', async () => {
  const recent = new RecentDecisions();
  let ref: WeakRef<Call>;
  (() => {
    const call = ringCall('1700000000.2');
    ref = new WeakRef(call);
    const life = lifecycleFor(call, recent);
    life.decide({ action: 'fallback', reason: 'no_history', fallback: { context: 'ivr', extension: 's' } });
    life.settle();
    assert.ok(life.isLogged);
  })();
  // WeakRefs are cleared only after the job that created them: let it end, then collect.
  await new Promise((r) => setImmediate(r));
  gc();
  assert.equal(ref!.deref(), undefined, 'the Call is still reachable after its record was written');
  assert.deepEqual(recent.annotate('1700000000.2'), { did: '5551000', reason: 'no_history' });
});

test('a call still in progress stays readable; a settled note for another call does not replace it', () => {
  const recent = new RecentDecisions();
  const a = ringCall('1700000000.3');
  recent.remember(a);
  recent.settled(ringCall('1700000000.3')); // not the remembered object: ignored
  a.reason = 'sticky_agent';
  assert.equal(recent.annotate('1700000000.3')?.reason, 'sticky_agent');
});

test('entries past their age are dropped on the next write, and the count is bounded', () => {
  let now = 1_000_000;
  const recent = new RecentDecisions(3, 60_000, () => now);
  for (let i = 0; i < 3; i++) recent.remember(ringCall(`a.${i}`));
  assert.equal(recent.size, 3);
  recent.remember(ringCall('a.3'));
  assert.equal(recent.size, 3, 'bounded by entries');
  assert.equal(recent.annotate('a.0'), undefined);
  now += 30_000;
  recent.remember(ringCall('b.0'));
  assert.equal(recent.size, 3);
  now += 31_000; // a.* are 61 s old, b.0 31 s
  assert.equal(recent.annotate('a.3'), undefined, 'too old to annotate');
  recent.remember(ringCall('c.0'));
  assert.equal(recent.size, 2, 'the old ones went with the write');
  assert.ok(recent.annotate('b.0'));
  assert.ok(recent.annotate('c.0'));
});
