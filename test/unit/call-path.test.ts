// The call path without Asterisk: StasisApp, routeCall, waitForAgent, the ring tracker
// and each call's lifecycle, on a fake ARI client and fed AMI events
// (test/support/call-path.ts). Each test orders ARI responses and AMI events the way
// a loaded PBX can, and checks what the caller gets (the `continue` requests) and
// what the router writes (one decision record per call).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callPath } from '../support/call-path.js';
import { FakeAri, gate } from '../support/fake-ari.js';

const caller = '+12025550100';
const settle = () => new Promise((r) => setTimeout(r, 20));

test('routeCall: a returning caller whose agent is free is handed to [sticky-ring]; the record waits for the ring', async () => {
  const p = callPath();
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  p.agentStates.set('1002', 'online');
  const ch = FakeAri.channel('c1', caller);
  p.ari.start(ch, '100');
  const cont = await p.ari.nextContinue();
  assert.deepEqual(cont, { channelId: 'c1', context: 'sticky-ring', extension: '1002~20~ivr~s', priority: 1 });
  p.ari.end(ch); // our own continue takes it out of Stasis
  await settle();
  assert.equal(p.records.length, 0, 'no record while the agent rings');
  assert.equal(p.lives[0]!.phase, 'handed_off');
  p.ami.dialBegin('c1');
  assert.equal(p.lives[0]!.phase, 'ringing');
  p.ami.dialEnd('c1', 'ANSWER');
  await p.recordsReach(1);
  const r = p.records[0]!;
  assert.equal(r.reason, 'sticky_agent');
  assert.equal(r.agent, '1002');
  assert.deepEqual((r.ring as { outcome: string }).outcome, 'answered');
  assert.equal(typeof r.decideMs, 'number');
  p.advance(30_000);
  p.ami.hangup('c1');
  assert.equal(p.lives[0]!.phase, 'ended');
  assert.deepEqual(p.learned, [{ e164: caller, agent: '1002', talkSeconds: 30 }], 'an answered sticky call teaches memory when it ends');
  assert.equal(p.ringTracker.size, 0);
  assert.deepEqual(p.lives[0]!.history.map((h) => h.phase), ['entered', 'decided', 'handed_off', 'ringing', 'answered', 'logged', 'ended']);
});

test('routeCall: no history, an offline agent, a garbage number: one continue to [sticky-fallback] with the reason, record at once', async () => {
  const p = callPath();
  p.history.set('+12025550111', { agent: '1003', minutesAgo: 3 });
  p.agentStates.set('1003', 'offline');
  p.ari.start(FakeAri.channel('c1', caller), '100');
  p.ari.start(FakeAri.channel('c2', '+12025550111'), '100');
  p.ari.start(FakeAri.channel('c3', 'anonymous'), '100');
  await p.recordsReach(3);
  const byChannel = new Map(p.ari.continued.map((c) => [c.channelId, c]));
  assert.equal(byChannel.get('c1')!.extension, 'no_history~ivr~s');
  assert.equal(byChannel.get('c2')!.extension, 'agent_offline~ivr~s');
  assert.equal(byChannel.get('c3')!.extension, 'invalid_caller~ivr~s');
  for (const c of p.ari.continued) assert.equal(c.context, 'sticky-fallback');
  assert.deepEqual(p.lookupCalls.sort(), [caller, '+12025550111'].sort(), 'garbage is not looked up');
  assert.ok(p.lives.every((l) => l.phase === 'ended' && l.isLogged));
});

test('race: StasisEnd for our own continue arrives before the continue response', async () => {
  const p = callPath();
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  const held = gate();
  p.ari.continueGates.push({ hold: held.promise });
  const ch = FakeAri.channel('c1', caller);
  p.ari.start(ch, '100');
  await settle();
  p.ari.end(ch); // Asterisk already moved the channel on
  held.open();
  await p.ari.nextContinue();
  await settle();
  assert.equal(p.lives[0]!.phase, 'handed_off', 'still ringing the agent, not a caller who left');
  assert.equal(p.records.length, 0);
  p.ami.dialEnd('c1', 'NOANSWER');
  await p.recordsReach(1);
  assert.equal(p.records[0]!.reason, 'agent_no_answer');
  assert.equal(typeof p.records[0]!.decideMs, 'number');
});

test('race: DialEnd (and DialBegin) before the hand-off response: one record, after it, with decideMs and the outcome', async () => {
  const p = callPath();
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  const held = gate();
  p.ari.continueGates.push({ hold: held.promise });
  p.ari.start(FakeAri.channel('c1', caller), '100');
  await settle();
  p.ami.dialBegin('c1');
  p.ami.dialEnd('c1', 'ANSWER');
  await settle();
  assert.equal(p.records.length, 0, 'the record waits for the continue response (decideMs)');
  assert.equal(p.lives[0]!.phase, 'answered');
  held.open();
  await p.recordsReach(1);
  await settle();
  assert.equal(p.records.length, 1);
  const r = p.records[0]!;
  assert.equal((r.ring as { outcome: string }).outcome, 'answered');
  assert.equal(typeof r.decideMs, 'number');
  assert.equal(p.lives[0]!.phase, 'answered', 'settling does not move a call AMI already moved on');
});

test('race: the caller hangs up while the sticky agent rings: caller_abandoned, one abandon event', async () => {
  const p = callPath();
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  p.ari.start(FakeAri.channel('c1', caller), '555');
  await p.ari.nextContinue();
  await settle();
  p.ami.dialBegin('c1', '1002', 'L1');
  p.ami.dialEnd('c1', 'CANCEL', 'L1');
  p.ami.hangup('c1', 'L1');
  await p.recordsReach(1);
  assert.equal(p.records[0]!.reason, 'caller_abandoned');
  assert.equal(p.abandons.length, 1);
  assert.deepEqual({ source: p.abandons[0]!.source, agent: p.abandons[0]!.agent, did: p.abandons[0]!.did, linkedid: p.abandons[0]!.linkedid }, { source: 'sticky_ring', agent: '1002', did: '555', linkedid: 'L1' });
  assert.equal(p.lives[0]!.phase, 'abandoned');
  assert.deepEqual(p.learned, []);
});

test('waitForAgent: ringback, then ring when the busy agent frees up', async () => {
  const p = callPath({ routes: { default: { waitForBusyAgent: 'PT5S' } } });
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  p.agentStates.set('1002', 'busy');
  p.ari.start(FakeAri.channel('c1', caller), '100');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(p.ari.rung, ['c1'], 'the caller hears ringback while waiting');
  assert.equal(p.ari.continued.length, 0);
  p.agentStates.set('1002', 'online');
  const cont = await p.ari.nextContinue();
  assert.equal(cont.context, 'sticky-ring');
});

test('waitForAgent: an agent who logs off ends the wait with agent_offline; one who stays busy with agent_busy at the deadline', async () => {
  const p = callPath({ routes: { default: { waitForBusyAgent: 'PT0.6S' } } });
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  p.history.set('+12025550111', { agent: '1003', minutesAgo: 5 });
  p.agentStates.set('1002', 'busy');
  p.agentStates.set('1003', 'busy');
  const t0 = Date.now();
  p.ari.start(FakeAri.channel('c1', caller), '100');
  p.ari.start(FakeAri.channel('c2', '+12025550111'), '100');
  await settle();
  p.agentStates.set('1003', 'offline');
  await p.recordsReach(2);
  const byChannel = new Map(p.ari.continued.map((c) => [c.channelId, c.extension]));
  assert.equal(byChannel.get('c2'), 'agent_offline~ivr~s');
  assert.equal(byChannel.get('c1'), 'agent_busy~ivr~s');
  assert.ok(Date.now() - t0 >= 550, 'waited for the policy\'s time');
});

test('race: the caller hangs up while waiting for a busy agent: no continue, caller_abandoned, one sticky_wait abandon, a record without decideMs', async () => {
  const p = callPath({ routes: { default: { waitForBusyAgent: 'PT10S' } } });
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  p.agentStates.set('1002', 'busy');
  const ch = FakeAri.channel('c1', caller);
  const t0 = Date.now();
  p.ari.start(ch, '100');
  await new Promise((r) => setTimeout(r, 100));
  p.ari.end(ch);
  await p.recordsReach(1);
  assert.ok(Date.now() - t0 < 2000, 'the wait ends with the call, not at its deadline');
  assert.equal(p.ari.continued.length, 0, 'nothing to hand off');
  assert.equal(p.records[0]!.reason, 'caller_abandoned');
  assert.equal(p.records[0]!.decideMs, undefined);
  assert.equal(p.lives[0]!.phase, 'ended');
  assert.deepEqual(p.abandons.map((a) => [a.source, a.agent, a.uniqueid]), [['sticky_wait', '1002', 'c1']]);
  assert.ok(p.abandons[0]!.waitedMs >= 100, 'waited since the call entered');
});

test('hand-off failure: the continue to [sticky-ring] fails → straight to the fallback as agent_unavailable, ring tracking undone', async () => {
  const p = callPath();
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  p.ari.continueGates.push({ fail: new Error('Channel not found') });
  p.ari.start(FakeAri.channel('c1', caller), '100');
  await p.recordsReach(1);
  assert.deepEqual(p.ari.continued, [{ channelId: 'c1', context: 'sticky-fallback', extension: 'agent_unavailable~ivr~s', priority: 1 }]);
  assert.equal(p.records[0]!.reason, 'agent_unavailable');
  assert.equal(p.records[0]!.agent, '1002');
  assert.equal(p.ringTracker.size, 0);
});

test('hand-off failure of a fallback keeps its reason', async () => {
  const p = callPath();
  p.ari.continueGates.push({ fail: new Error('ARI 500') });
  p.ari.start(FakeAri.channel('c1', caller), '100');
  await p.recordsReach(1);
  assert.deepEqual(p.ari.continued.map((c) => c.extension), ['no_history~ivr~s']);
  assert.equal(p.records[0]!.reason, 'no_history');
});

test('stranded-caller rescue: callers a dead router left in Stasis are routed on attach, DID from their extension', async () => {
  const p = callPath({ attach: false });
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  const ch = FakeAri.channel('old1', caller, '777');
  p.ari.liveChannels.set('old1', ch);
  p.ari.stranded = ['old1', 'gone'];
  p.app.attach(p.ari, 'sticky-router');
  const cont = await p.ari.nextContinue();
  assert.deepEqual({ channel: cont.channelId, context: cont.context }, { channel: 'old1', context: 'sticky-ring' });
  assert.equal(p.lives[0]!.call.did, '777');
  assert.equal(p.lives.length, 1, 'a channel that vanished is skipped');
  p.ari.start(ch, '777'); // a late StasisStart for the same channel is not routed twice
  await settle();
  assert.equal(p.lives.length, 1);
});

test('ring tracker: AMI silent after the hand-off → the record is still written when the ring timer fires', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const p = callPath({ routes: { default: { ringTimeout: 'PT1S' } } });
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  p.ari.start(FakeAri.channel('c1', caller), '100');
  for (let i = 0; i < 20 && p.ari.continued.length === 0; i++) {
    t.mock.timers.tick(1);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(p.ari.continued.length, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(p.records.length, 0);
  t.mock.timers.tick(31_000);
  assert.equal(p.records.length, 1);
  assert.equal(p.records[0]!.reason, 'agent_unavailable');
  assert.equal(p.ringTracker.size, 0);
});

test("a DID with a queue: the member's own interface goes in STICKY_DIAL before the continue; a paused member is not rung", async () => {
  const members = new Map([['1002', { state: 'online' as const, dial: 'Local/1002@from-queue/n' }], ['1003', { state: 'paused' as const, dial: 'PJSIP/1003' }]]);
  const p = callPath({ routes: { default: { queue: 'sales' } }, queueMember: (queue, agent) => (queue === 'sales' ? members.get(agent) : undefined) });
  p.history.set(caller, { agent: '1002', minutesAgo: 5 });
  p.history.set('+12025550111', { agent: '1003', minutesAgo: 5 });
  const order: string[] = [];
  const setVar = p.ari.channels.setChannelVar;
  p.ari.channels.setChannelVar = async (v) => {
    order.push(`set ${v.variable}=${v.value}`);
    await setVar(v);
  };
  p.ari.on('continued', (c: { channelId: string; context: string }) => order.push(`continue ${c.channelId} ${c.context}`));
  p.ari.start(FakeAri.channel('c1', caller), '100');
  p.ari.start(FakeAri.channel('c2', '+12025550111'), '100');
  await p.recordsReach(1);
  await settle();
  assert.deepEqual(p.ari.vars, [{ channelId: 'c1', variable: 'STICKY_DIAL', value: 'Local/1002@from-queue/n' }]);
  assert.deepEqual(order.filter((x) => x.includes('c1') || x.startsWith('set')), ['set STICKY_DIAL=Local/1002@from-queue/n', 'continue c1 sticky-ring']);
  const c2 = p.ari.continued.find((c) => c.channelId === 'c2')!;
  assert.equal(c2.extension, 'agent_paused~ivr~s');
});
