// The harness contract, with no router running: a call to a DID falls through
// Stasis (no app) to the IVR queue, the only agent whose phone is up answers, and
// Asterisk reports the call as a Cdr on AMI naming that agent's channel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchAmi } from '../support/ami-events.js';
import { startAgent, call } from '../support/sipp.js';
import { waitEndpointState, queueLogLines, hangupAllChannels, phoneUp } from '../support/harness.js';

test.beforeEach(() => hangupAllChannels());

test('router down: DID 100 from +12025550100 reaches queue support and agent 1002 answers; Cdr on AMI', async () => {
  const ami = await watchAmi();
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  try {
    await waitEndpointState('1001', 'offline');
    await waitEndpointState('1003', 'offline');
    const result = await call('100', '+12025550100', { talkMs: 1500 });
    assert.equal(result.exitCode, 0, 'the caller completed its scenario (answered, talked, hung up)');

    const join = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === '+12025550100', 5000, 'QueueCallerJoin');
    assert.equal(join.Queue, 'support');
    const connect = await ami.waitFor((e) => e.Event === 'AgentConnect' && e.Uniqueid === join.Uniqueid, 5000, 'AgentConnect');
    assert.match(connect.Interface ?? '', /^PJSIP\/1002$/);
    const cdr = await ami.waitFor((e) => e.Event === 'Cdr' && e.UniqueID === join.Uniqueid, 10_000, 'Cdr');
    assert.match(cdr.DestinationChannel ?? '', /^PJSIP\/1002-/);
    assert.equal(cdr.Source, '+12025550100');
    assert.equal(cdr.Disposition, 'ANSWERED');

    const { invites } = await agent.stop();
    assert.equal(invites.length, 1, 'agent 1002 was rung exactly once');
    assert.match(invites[0]!.headers.from ?? '', /\+12025550100/);
    const ql = queueLogLines().filter((l) => l[1] === join.Uniqueid).map((l) => l[4]);
    assert.deepEqual(ql.filter((e) => e === 'ENTERQUEUE' || e === 'CONNECT'), ['ENTERQUEUE', 'CONNECT']);
  } finally {
    await agent.stop();
    await ami.stop();
  }
});
