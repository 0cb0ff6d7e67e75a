// The sticky call flow on the real PBX: the router (a child process) looks the
// caller up in Elasticsearch (the wire-level double, or ES_TEST_NODE), and sipp
// phones show which agent rang. AMI shows where the caller went.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { testCluster } from '../es-double/cluster.js';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent } from '../support/sipp.js';
import { historyDoc, seededCluster } from '../support/history.js';
import { waitChannelsGone, waitEndpointState, hangupAllChannels, phoneUp, harnessEnv } from '../support/harness.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const prefix = `it-routing-${Date.now()}`;
let cluster: Awaited<ReturnType<typeof testCluster>>;
let router: RouterProcess;
let ami: AmiWatch;
const token = 'integration-test-token-0123456789';
const decisionFor = (caller: string) => (l: Record<string, unknown>) => l.event === 'decision' && (l.caller as { raw?: string })?.raw === caller;

before(async () => {
  await hangupAllChannels();
  const now = DateTime.utc();
  cluster = await seededCluster(prefix, [
    historyDoc('+12025550100', '1002', now.minus({ minutes: 10 })),
    historyDoc('+12025550111', '1002', now.minus({ minutes: 45 })), // outside the 30 min window
    historyDoc('+12025550122', '1003', now.minus({ minutes: 5 })), // 1003 has no phone: offline
    historyDoc('+12025550133', '1002', now.minus({ minutes: 2 })),
  ]);
  ami = await watchAmi();
  const routes = join(mkdtempSync(join(tmpdir(), 'sticky-routes-')), 'routes.json');
  writeFileSync(routes, JSON.stringify({ dids: { '200': { ringTimeout: 'PT2S' }, '300': { enabled: false } } }));
  router = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT4S', ROUTES_FILE: routes, HTTP_TOKEN: token });
});

after(async () => {
  await router?.stop();
  await ami?.stop();
  await cluster?.clean(prefix);
  await cluster?.close();
});

test('history: +12025550100 talked to 1002 ten minutes ago → 1002 rings before the caller is answered, then they are bridged', async () => {
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 500 }));
  try {
    const result = await call('100', '+12025550100', { talkMs: 1500 });
    assert.equal(result.exitCode, 0);
    const decision = await router.waitForLog(decisionFor('+12025550100'), 10_000, 'decision');
    assert.equal(decision.reason, 'sticky_agent');
    assert.equal(decision.agent, '1002');
    assert.equal((decision.lookup as { source: string }).source, 'elasticsearch');
    assert.equal((decision.ring as { outcome: string }).outcome, 'answered');

    const { invites } = await agent.stop();
    assert.equal(invites.length, 1, '1002 was rung once');
    assert.match(invites[0]!.headers.from ?? '', /sip:\+12025550100@/);
    // The caller's channel went Up only after the agent's phone had the INVITE.
    const dial = await ami.waitFor((e) => e.Event === 'DialBegin' && e.CallerIDNum === '+12025550100' && e.Context === 'sticky-ring', 5000, 'sticky DialBegin');
    const callerUp = await ami.waitFor((e) => e.Event === 'Newstate' && e.Uniqueid === dial.Uniqueid && e.ChannelStateDesc === 'Up', 5000, 'caller answered');
    assert.ok(invites[0]!.at <= ami.at(callerUp), 'agent INVITE before the caller was answered');
    const enters = ami.events.filter((e) => e.Event === 'BridgeEnter' && (e.Uniqueid === dial.Uniqueid || e.Uniqueid === dial.DestUniqueid));
    assert.equal(enters.length, 2, 'caller and agent entered a bridge');
    assert.equal(enters[0]!.BridgeUniqueid, enters[1]!.BridgeUniqueid, 'the same bridge');
  } finally {
    await agent.stop();
    await waitChannelsGone();
  }
});

test('history older than the window, or none → the caller lands in queue support', async () => {
  for (const caller of ['+12025550111', '+12025550199']) {
    const result = await call('100', caller, { talkMs: 800 });
    assert.equal(result.exitCode, 0);
    const decision = await router.waitForLog(decisionFor(caller), 10_000, `decision for ${caller}`);
    assert.equal(decision.reason, 'no_history', caller);
    const join = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === caller, 5000, `queue join ${caller}`);
    assert.equal(join.Queue, 'support');
  }
  await waitChannelsGone();
});

test("1002's phone does not answer → after the ring timeout the caller lands in the fallback", async () => {
  const agent = await phoneUp('1002', () => startAgent('1002', { answer: false }));
  try {
    const result = await call('100', '+12025550133', { talkMs: 800 });
    assert.equal(result.exitCode, 0);
    const decision = await router.waitForLog(decisionFor('+12025550133'), 15_000, 'decision');
    assert.equal(decision.reason, 'agent_no_answer');
    const ring = decision.ring as { outcome: string; ms: number };
    assert.equal(ring.outcome, 'no_answer');
    assert.ok(ring.ms >= 3500 && ring.ms < 6000, `rang ${ring.ms} ms for a 4 s ring timeout`);
    const join = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === '+12025550133', 5000, 'queue join');
    assert.equal(join.Queue, 'support');
    const { invites } = await agent.stop();
    assert.ok(invites.length >= 1, '1002 was rung');
  } finally {
    await agent.stop();
    await waitChannelsGone();
  }
});

test('agent 1003 offline (no phone, unreachable) → fallback without ringing it', async () => {
  await waitEndpointState('1003', 'offline');
  const result = await call('100', '+12025550122', { talkMs: 500 });
  assert.equal(result.exitCode, 0);
  const decision = await router.waitForLog(decisionFor('+12025550122'), 10_000, 'decision');
  assert.equal(decision.reason, 'agent_offline');
  assert.equal(decision.agent, '1003');
  assert.equal(decision.ring, undefined);
  const join = await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === '+12025550122', 5000, 'queue join');
  const stickyDials = ami.events.filter((e) => e.Event === 'DialBegin' && e.Uniqueid === join.Uniqueid && e.Context === 'sticky-ring');
  assert.equal(stickyDials.length, 0, 'no sticky Dial for an offline agent');
  await waitChannelsGone();
});

test('Elasticsearch slower than the budget, or unreachable → fallback within LOOKUP_TIMEOUT + 200 ms', async (t) => {
  if (!cluster.double) return t.skip('fault injection needs the double (ES_TEST_NODE points at a real cluster)');
  const cases: [string, () => Promise<void>][] = [
    ['+12025550144', async () => cluster.double!.setLatency(2000)],
    ['+12025550155', async () => { cluster.double!.setLatency(0); await cluster.double!.setDown(true); }],
  ];
  try {
    for (const [caller, fault] of cases) {
      await fault();
      const result = await call('100', caller, { talkMs: 500 });
      assert.equal(result.exitCode, 0);
      const decision = await router.waitForLog(decisionFor(caller), 10_000, `decision for ${caller}`);
      assert.ok(['lookup_failed', 'no_history'].includes(decision.reason as string), String(decision.reason));
      assert.ok((decision.decideMs as number) <= 300 + 200, `decided in ${decision.decideMs} ms`);
      // Measured outside the router too: Stasis entered → fallback context entered.
      const stasis = await ami.waitFor((e) => e.Event === 'Newexten' && e.CallerIDNum === caller && e.Application === 'Stasis', 5000, 'Stasis');
      const out = await ami.waitFor((e) => e.Event === 'Newexten' && e.Uniqueid === stasis.Uniqueid && e.Context === 'sticky-fallback', 5000, 'fallback');
      assert.ok(ami.at(out) - ami.at(stasis) <= 500, `caller waited ${ami.at(out) - ami.at(stasis)} ms in Stasis`);
      await ami.waitFor((e) => e.Event === 'QueueCallerJoin' && e.CallerIDNum === caller, 5000, 'queue join');
    }
  } finally {
    await cluster.double.setDown(false);
    cluster.double.setLatency(0);
    await waitChannelsGone();
  }
});

test('per-DID settings from ROUTES_FILE: DID 200 rings for 2 s, DID 300 does not route', async () => {
  const agent = await phoneUp('1002', () => startAgent('1002', { answer: false }));
  try {
    const since = router.lines.length;
    const result = await call('200', '+12025550133', { talkMs: 300 });
    assert.equal(result.exitCode, 0);
    const d = await router.waitForLog((l) => l.event === 'decision' && l.did === '200' && router.lines.indexOf(l) >= since, 10_000, 'DID 200 decision');
    assert.equal(d.reason, 'agent_no_answer');
    const ms = (d.ring as { ms: number }).ms;
    assert.ok(ms >= 1500 && ms < 3500, `DID 200 rang ${ms} ms (ringTimeout PT2S; the default here is 4 s)`);
    const off = await call('300', '+12025550100', { talkMs: 300 });
    assert.equal(off.exitCode, 0);
    const d3 = await router.waitForLog((l) => l.event === 'decision' && l.did === '300', 10_000, 'DID 300 decision');
    assert.equal(d3.reason, 'disabled');
  } finally {
    await agent.stop();
    await waitChannelsGone();
  }
});

test('GET /v1/lookup/<number> answers as `sticky-router lookup --json` does; HTTP_TOKEN guards it, not the probes', async () => {
  const listening = await router.waitForLog((l) => l.msg === 'http listening', 5000, 'http listening');
  const base = `http://127.0.0.1:${listening.port as number}`;
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.equal((await fetch(`${base}/metrics`)).status, 401);
  assert.equal((await fetch(`${base}/v1/lookup/%2B12025550100`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
  const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  assert.match(metrics, /^sticky_decisions_total\{reason="sticky_agent"\} [1-9]/m);
  // The previous test's phone for 1002 is gone: wait until Asterisk says so, and the
  // router's event-fed agent states follow, so both answers see the same PBX.
  await waitEndpointState('1002', 'offline');
  let http: Record<string, unknown> = {};
  const deadline = Date.now() + 5000;
  do {
    const res = await fetch(`${base}/v1/lookup/%2B12025550100`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    http = (await res.json()) as Record<string, unknown>;
  } while (http.agentState !== 'offline' && Date.now() < deadline && (await new Promise((r) => setTimeout(r, 200)), true));
  assert.equal(http.agentState, 'offline', "the router's agent state followed ARI");
  // The CLI, beside the running router, on the same cluster (async: the double runs in this process).
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'lookup', '+12025550100', '--json'], {
    env: { PATH: process.env.PATH, ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, DATA_DIR: router.dataDir, ...harnessEnv },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => child.on('close', r));
  const cli = JSON.parse(out) as Record<string, unknown>;
  for (const k of ['action', 'reason', 'agent', 'agentState']) assert.deepEqual(http[k], cli[k], k);
  assert.equal(http.agent, '1002');
  assert.equal(http.reason, 'agent_offline');
  // The router's memory learned from this file's calls; the CLI reads ES/journal: both name the same last conversation's agent.
  assert.ok(['memory', 'elasticsearch', 'journal'].includes(http.source as string));
});
