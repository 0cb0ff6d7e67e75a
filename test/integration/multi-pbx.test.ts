// Several PBXs, one history (issue 19), on two real PBXs: pbx-a (the harness PBX,
// PBX_NAME=pbx-a) and pbx-b (a second harness PBX in its own network namespace,
// SystemName pbx-b), a PJSIP trunk between them over a veth pair, a router
// beside each, one Elasticsearch double both reach. Agent 1002's phone is
// registered on pbx-a only; callers of pbx-b call from pbx-b's namespace.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { startEsDouble, type EsDouble } from '../es-double/server.js';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { hangupAllChannels, phoneUp, waitChannelsGone } from '../support/harness.js';
import { historyDoc, seedHistory } from '../support/history.js';
import { hangupPeerChannels, peerAddresses, peerNetns, startPeerPbx, stopPeerPbx, waitPeerChannelsGone } from '../support/peer-pbx.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent } from '../support/sipp.js';
import { installTemplates } from '../../src/cdr/index-template.js';
import { Client } from '@elastic/elasticsearch';

const prefix = `it-multipbx-${Date.now()}`;
// The same list on every router: each skips its own name.
const PBX_ROUTES = 'pbx-a=PJSIP/${agent}@pbx-a,pbx-b=PJSIP/${agent}@pbx-b';
const LOOKUP_MS = 300;
let double: EsDouble;
let routerA: RouterProcess;
let routerB: RouterProcess;
let ami: AmiWatch;
const skip = process.env.ES_TEST_NODE ? 'ES_TEST_NODE: the second PBX\'s namespace reaches only the in-process double (over the veth pair)' : undefined;

const decisionFor = (r: RouterProcess, caller: string, from = 0) => r.waitForLog((l) => l.event === 'decision' && (l.caller as { raw?: string })?.raw === caller && r.lines.indexOf(l) >= from, 15_000, `decision for ${caller}`);
const cdrs = (pred: (d: Record<string, unknown>) => boolean) => double.docs(`${prefix}-*,-${prefix}-abandons-*,-${prefix}-agent-states`).map((d) => d.source as Record<string, unknown>).filter(pred);
const agentState = (pbx: string, agent: string) => double.docs(`${prefix}-agent-states`).find((d) => d.id === `${pbx}:${agent}`)?.source;

async function poll<T>(read: () => T, ok: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(v)?.slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  if (skip) return;
  await hangupAllChannels();
  await startPeerPbx();
  hangupPeerChannels();
  // Listening on every address of this namespace: 127.0.0.1 for pbx-a's router, the veth's for pbx-b's.
  double = await startEsDouble({ host: '0.0.0.0' });
  const admin = new Client({ node: `http://127.0.0.1:${new URL(double.url).port}` });
  await installTemplates(admin, prefix);
  await admin.close();
  ami = await watchAmi();
  const routes = join(mkdtempSync(join(tmpdir(), 'sticky-routes-')), 'routes.json');
  // Both PBXs decide by queue support's membership and pause state.
  writeFileSync(routes, JSON.stringify({ default: { queue: 'support' } }));
  const common = { ES_INDEX_PREFIX: prefix, PBX_ROUTES, ROUTES_FILE: routes, AGENT_RING_TIMEOUT: 'PT5S', LOOKUP_TIMEOUT: `PT${LOOKUP_MS / 1000}S`, AGENT_STATE_TTL: 'PT15S' };
  const port = new URL(double.url).port;
  [routerA, routerB] = await Promise.all([
    startRouter({ ...common, ES_NODE: `http://127.0.0.1:${port}`, PBX_NAME: 'pbx-a' }),
    // No PBX_NAME: pbx-b's router takes Asterisk's SystemName.
    startRouter({ ...common, ES_NODE: `http://${peerAddresses.here}:${port}` }, { netns: peerNetns }),
  ]);
});

after(async () => {
  if (skip) return;
  await ami?.ami.action({ Action: 'QueuePause', Queue: 'support', Interface: 'PJSIP/1002', Paused: 'false' }).catch(() => undefined);
  await Promise.all([routerA?.stop(), routerB?.stop()]);
  await ami?.stop();
  hangupPeerChannels();
  await stopPeerPbx();
  await double?.close();
});

test('each router knows its PBX: PBX_NAME on pbx-a, SystemName on pbx-b; both publish their agents', { skip }, async () => {
  const a = await routerA.waitForLog((l) => l.msg === 'pbx', 5000, 'pbx line A');
  const b = await routerB.waitForLog((l) => l.msg === 'pbx', 5000, 'pbx line B');
  assert.deepEqual([a.pbx, a.from, b.pbx, b.from], ['pbx-a', 'PBX_NAME', 'pbx-b', 'SystemName']);
  const s = await poll(() => agentState('pbx-b', '1002'), (d) => d !== undefined, 10_000, "pbx-b's 1002 published");
  assert.equal(s!.pbx, 'pbx-b');
  assert.ok(Date.parse(s!.expires_at as string) > Date.now(), 'not expired');
  // Trunks are not agents.
  await poll(() => agentState('pbx-a', '1002'), (d) => d !== undefined, 10_000, "pbx-a's 1002 published");
  assert.equal(agentState('pbx-a', 'pbx-b'), undefined);
  assert.equal(agentState('pbx-a', 'trunk'), undefined);
  const listening = await routerA.waitForLog((l) => l.msg === 'http listening', 5000, 'http listening');
  const metrics = await (await fetch(`http://127.0.0.1:${listening.port as number}/metrics`)).text();
  assert.match(metrics, /^sticky_agent_state_writes_total\{result="ok"\} [1-9]/m);
});

test("a caller talks to 1002 on pbx-a, calls pbx-b two seconds after hanging up: 1002's phone on pbx-a rings, pbx-b's decision names pbx-a", { skip }, async () => {
  const caller = '+12025550191';
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  try {
    // First call: pbx-a has no history for them → its queue → 1002 answers.
    const first = await call('100', caller, { talkMs: 2500 });
    assert.equal(first.exitCode, 0, first.errors);
    const dA = await decisionFor(routerA, caller);
    assert.equal(dA.reason, 'no_history');
    assert.equal(dA.pbx, 'pbx-a');
    const ended = first.endedAt;
    // How the gap is covered: pbx-a's router ships the CDR the moment it is journaled; pbx-b finds it in Elasticsearch.
    await poll(() => cdrs((d) => d.customer_e164 === caller && d.talked === true && d.pbx === 'pbx-a'), (ds) => ds.length > 0, 10_000, "pbx-a's CDR in Elasticsearch");
    const shippedMs = Date.now() - ended;
    const [cdrA] = cdrs((d) => d.customer_e164 === caller && d.talked === true && d.pbx === 'pbx-a');
    assert.equal(cdrA!.agent, '1002');
    assert.equal(cdrA!.agent_pbx, 'pbx-a');
    process.stderr.write(`multi-pbx: pbx-a's CDR searchable ${shippedMs} ms after the caller hung up\n`);
    assert.ok(shippedMs < 2000, `CDR in Elasticsearch ${shippedMs} ms after the call (the call-back comes at 2 s)`);
    // 1002's phone is free again on pbx-a, and pbx-b can read it, before the call-back.
    await poll(() => agentState('pbx-a', '1002'), (d) => d?.state === 'online', Math.max(0, ended + 2000 - Date.now()), "1002 published online within 2 s of the hang-up");
    process.stderr.write(`multi-pbx: 1002 published online ${Date.now() - ended} ms after the caller hung up\n`);

    await new Promise((r) => setTimeout(r, Math.max(0, ended + 2000 - Date.now())));
    const invitesBefore = Date.now();
    const back = await call('100', caller, { talkMs: 1500, netns: peerNetns });
    assert.equal(back.exitCode, 0, back.errors);
    const dB = await decisionFor(routerB, caller);
    assert.equal(dB.pbx, 'pbx-b');
    assert.equal(dB.reason, 'sticky_agent', JSON.stringify(dB));
    assert.equal(dB.agent, '1002');
    assert.equal(dB.agentPbx, 'pbx-a');
    assert.equal(dB.dial, 'PJSIP/1002@pbx-a');
    assert.equal((dB.lookup as { source: string }).source, 'elasticsearch');
    assert.equal((dB.ring as { outcome: string }).outcome, 'answered');
    assert.ok((dB.decideMs as number) <= LOOKUP_MS + 200, `decided in ${dB.decideMs} ms (LOOKUP_TIMEOUT ${LOOKUP_MS} ms covers the lookup and the remote state)`);
    process.stderr.write(`multi-pbx: pbx-b decided for pbx-a's 1002 in ${dB.decideMs} ms (lookup ${(dB.lookup as { ms: number }).ms} ms)\n`);

    const { invites } = await agent.stop();
    assert.equal(invites.length, 2, "1002's phone rang for the queue call, then for the call-back through pbx-b");
    assert.ok(invites[1]!.at >= invitesBefore - 1000);
    assert.match(invites[1]!.headers.from ?? '', /sip:\+12025550191@/, "the call-back carries the caller's number across the trunk");
    // pbx-b's own CDR names it, and the agent on pbx-a.
    const [cdrB] = await poll(() => cdrs((d) => d.customer_e164 === caller && d.pbx === 'pbx-b'), (ds) => ds.length > 0, 10_000, "pbx-b's CDR");
    assert.equal(cdrB!.agent, '1002');
    assert.equal(cdrB!.agent_pbx, 'pbx-a');
    assert.equal(cdrB!.sticky_reason, 'sticky_agent');
    assert.equal(cdrB!.talked, true);
  } finally {
    await agent.stop();
    await waitChannelsGone();
    await waitPeerChannelsGone();
  }
});

test("1002 paused in queue support on pbx-a: the caller on pbx-b goes to pbx-b's fallback, 1002's phone does not ring", { skip }, async () => {
  const caller = '+12025550192';
  await seedHistory(`http://127.0.0.1:${new URL(double.url).port}`, prefix, [{ ...historyDoc(caller, '1002', DateTime.utc().minus({ minutes: 3 })), pbx: 'pbx-a', agent_pbx: 'pbx-a' }]);
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  try {
    const t0 = Date.now();
    await ami.ami.action({ Action: 'QueuePause', Queue: 'support', Interface: 'PJSIP/1002', Paused: 'true', Reason: 'lunch' });
    const s = await poll(() => agentState('pbx-a', '1002'), (d) => (d?.queues as { queue: string; state: string }[] | undefined)?.some((q) => q.queue === 'support' && q.state === 'paused') === true, 5000, 'paused published');
    process.stderr.write(`multi-pbx: pause on pbx-a published ${Date.now() - t0} ms after QueuePause\n`);
    assert.equal(s!.state, 'online', 'the phone itself is free');
    const from = routerB.lines.length;
    const r = await call('100', caller, { talkMs: 1000, netns: peerNetns });
    assert.equal(r.exitCode, 0, r.errors);
    const d = await decisionFor(routerB, caller, from);
    assert.equal(d.action, 'fallback');
    assert.equal(d.reason, 'agent_paused', JSON.stringify(d));
    assert.equal(d.agent, '1002');
    assert.deepEqual(d.tried, [{ agent: '1002', state: 'paused', via: 'talk', pbx: 'pbx-a' }]);
    // pbx-b's own queue took the caller.
    const [cdr] = await poll(() => cdrs((c) => c.customer_e164 === caller && c.pbx === 'pbx-b'), (ds) => ds.length > 0, 10_000, "pbx-b's CDR");
    assert.equal((cdr!.asterisk as { lastapp: string }).lastapp, 'Queue');
    assert.equal(cdr!.sticky_reason, 'agent_paused');
    const { invites } = await agent.stop();
    assert.equal(invites.length, 0, '1002 was not rung');
  } finally {
    await ami.ami.action({ Action: 'QueuePause', Queue: 'support', Interface: 'PJSIP/1002', Paused: 'false' });
    await agent.stop();
    await waitChannelsGone();
    await waitPeerChannelsGone();
  }
});

test("the remote leg fails (1002 on pbx-a does not answer): after the ring timeout the caller lands in pbx-b's queue", { skip }, async () => {
  const caller = '+12025550193';
  await seedHistory(`http://127.0.0.1:${new URL(double.url).port}`, prefix, [{ ...historyDoc(caller, '1002', DateTime.utc().minus({ minutes: 4 })), pbx: 'pbx-a', agent_pbx: 'pbx-a' }]);
  const agent = await phoneUp('1002', () => startAgent('1002', { answer: false }));
  try {
    await poll(() => agentState('pbx-a', '1002'), (d) => d?.state === 'online' && (d.queues as { state: string }[] | undefined)?.[0]?.state === 'online', 5000, '1002 online and unpaused on pbx-a');
    const from = routerB.lines.length;
    const r = await call('100', caller, { talkMs: 1000, netns: peerNetns });
    assert.equal(r.exitCode, 0, r.errors);
    const d = await decisionFor(routerB, caller, from);
    assert.equal(d.reason, 'agent_no_answer', JSON.stringify(d));
    const ring = d.ring as { outcome: string; ms: number };
    assert.equal(ring.outcome, 'no_answer');
    assert.ok(ring.ms >= 4500 && ring.ms < 8000, `rang ${ring.ms} ms for a 5 s ring timeout`);
    // pbx-b's CDRs: the unanswered Dial through the trunk, then its own queue.
    const mine = await poll(() => cdrs((c) => c.customer_e164 === caller && c.pbx === 'pbx-b'), (ds) => ds.some((c) => (c.asterisk as { lastapp: string }).lastapp === 'Queue'), 10_000, "pbx-b's queue CDR");
    const dial = mine.find((c) => (c.asterisk as { lastapp: string }).lastapp === 'Dial');
    assert.match((dial?.asterisk as { dstchannel?: string } | undefined)?.dstchannel ?? '', /^PJSIP\/pbx-a-/, 'pbx-b dialled through its trunk to pbx-a');
    assert.equal(dial?.talked, false);
    const { invites } = await agent.stop();
    assert.equal(invites.length, 1, '1002 was rung once, through the trunk');
  } finally {
    await agent.stop();
    await waitChannelsGone();
    await waitPeerChannelsGone();
  }
});

test("pbx-a's router goes away: its agent states expire, and pbx-b still rings 1002 through the trunk (unknown: Dial() decides)", { skip }, async () => {
  const caller = '+12025550194';
  await seedHistory(`http://127.0.0.1:${new URL(double.url).port}`, prefix, [{ ...historyDoc(caller, '1002', DateTime.utc().minus({ minutes: 5 })), pbx: 'pbx-a', agent_pbx: 'pbx-a' }]);
  const agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  try {
    await routerA.stop();
    // A stopping router expires its documents at once; a killed one's lapse after AGENT_STATE_TTL.
    const s = agentState('pbx-a', '1002');
    assert.ok(s && Date.parse(s.expires_at as string) <= Date.now(), `expired on stop: ${JSON.stringify(s)}`);
    const from = routerB.lines.length;
    const r = await call('100', caller, { talkMs: 1000, netns: peerNetns });
    assert.equal(r.exitCode, 0, r.errors);
    const d = await decisionFor(routerB, caller, from);
    assert.equal(d.reason, 'sticky_agent', JSON.stringify(d));
    assert.deepEqual(d.tried, [{ agent: '1002', state: 'unknown', via: 'talk', pbx: 'pbx-a', note: 'state_expired' }]);
    assert.equal((d.ring as { outcome: string }).outcome, 'answered');
    const { invites } = await agent.stop();
    assert.equal(invites.length, 1);
  } finally {
    await agent.stop();
    await waitChannelsGone();
    await waitPeerChannelsGone();
  }
});
