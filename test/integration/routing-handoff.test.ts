// What happens after the hand-off: the caller gives up while the agent rings, and
// the router dies while the call goes on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { testCluster } from '../es-double/cluster.js';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { startRouter } from '../support/router.js';
import { call, startAgent } from '../support/sipp.js';
import { historyDoc, seededCluster } from '../support/history.js';
import { waitChannelsGone, hangupAllChannels, phoneUp } from '../support/harness.js';

const prefix = `it-handoff-${Date.now()}`;
let cluster: Awaited<ReturnType<typeof testCluster>>;
let ami: AmiWatch;

before(async () => {
  await hangupAllChannels();
  const now = DateTime.utc();
  cluster = await seededCluster(prefix, [historyDoc('+12025550300', '1002', now.minus({ minutes: 3 })), historyDoc('+12025550301', '1002', now.minus({ minutes: 4 }))]);
  ami = await watchAmi();
});

after(async () => {
  await ami?.stop();
  await cluster?.clean(prefix);
  await cluster?.close();
});

test('caller hangs up while the sticky agent rings → agent leg cancelled, one abandon event', async () => {
  const router = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT10S' });
  const agent = await phoneUp('1002', () => startAgent('1002', { answer: false }));
  try {
    const t0 = Date.now();
    const result = await call('100', '+12025550300', { cancelAfterMs: 2000 });
    assert.equal(result.exitCode, 0, `caller rang, then cancelled: ${JSON.stringify(router.lines.filter((l) => l.event === 'decision' || (l.level as string) === 'warn'))} ${result.errors.slice(0, 200)}\n${result.trace.split('\n').filter((l) => /^(INVITE|CANCEL|ACK|BYE|SIP\/2\.0)/.test(l)).join(' | ')}`);
    const decision = await router.waitForLog((l) => l.event === 'decision' && (l.caller as { raw: string }).raw === '+12025550300', 10_000, 'decision');
    assert.equal(decision.reason, 'caller_abandoned');
    assert.equal((decision.ring as { outcome: string }).outcome, 'caller_hung_up');
    const abandon = await router.waitForLog((l) => l.event === 'abandon' && (l.abandon as { caller: { raw: string } })?.caller?.raw === '+12025550300', 5000, 'abandon');
    const rec = abandon.abandon as { source: string; sticky_agent: string; waited_seconds: number; did: string };
    assert.equal(rec.source, 'sticky_ring');
    assert.equal(rec.sticky_agent, '1002');
    assert.equal(rec.did, '100');
    // The caller rang ~2 s before cancelling: the record's wait matches the caller's own clock.
    const waitedWall = (result.endedAt - t0) / 1000;
    assert.ok(rec.waited_seconds >= 2 && rec.waited_seconds <= Math.ceil(waitedWall), `waited ${rec.waited_seconds} s (caller's wall clock ${waitedWall} s)`);
    await waitChannelsGone();
    const { messages } = await agent.stop();
    assert.equal(messages.filter((m) => m.firstLine.startsWith('INVITE ')).length, 1);
    assert.equal(messages.filter((m) => m.firstLine.startsWith('CANCEL ')).length, 1, "the agent's phone got a CANCEL");
    assert.equal(router.lines.filter((l) => l.event === 'abandon').length, 1, 'exactly one abandon event');
  } finally {
    await agent.stop();
    await router.stop();
  }
});

test('router killed after handing a call off → the call still completes without it', async () => {
  const router = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT10S' });
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 1500 }));
  try {
    const pending = call('100', '+12025550301', { talkMs: 2000 });
    await router.waitForLog((l) => l.msg === 'handed off' && (l.caller as { raw: string })?.raw === '+12025550301', 10_000, 'hand-off').catch((err: Error) => {
      throw new Error(`${err.message}; decisions: ${JSON.stringify(router.lines.filter((l) => l.event === 'decision'))}`);
    });
    await router.stop('SIGKILL');
    const result = await pending;
    assert.equal(result.exitCode, 0, 'caller was answered by the agent, talked and hung up');
    const dial = await ami.waitFor((e) => e.Event === 'DialEnd' && e.CallerIDNum === '+12025550301' && e.Context === 'sticky-ring', 10_000, 'DialEnd');
    assert.equal(dial.DialStatus, 'ANSWER');
    await waitChannelsGone();
    const { messages } = await agent.stop();
    assert.equal(messages.filter((m) => m.firstLine.startsWith('BYE ')).length, 1, 'the talk ended with a BYE at the agent');
  } finally {
    await agent.stop();
    await router.stop();
  }
});
