// A real contact centre's queues (issue 11): agents pause and log out, FreePBX
// puts `Local/<ext>@from-queue/n` members in its queues, agents hot-desk with a
// MemberName, a caller may have talked to several agents, an agent's missed
// outbound call counts, and a caller held for a busy agent may give up. Every case
// on the real PBX: queue `support` (PJSIP members) for DIDs 100/300/400, the
// FreePBX-style queue `sales` for DID 200.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent, startCustomerPhone, type Agent } from '../support/sipp.js';
import { historyDoc, seededCluster } from '../support/history.js';
import { hangupAllChannels, harnessEnv, phoneUp, queueLogLines, waitChannelsGone, waitEndpointState } from '../support/harness.js';
import { agentStatesLoaded, decisionAfter, journalCdrs, poll } from '../support/cdr.js';
import { startNotifyReceivers, type NotifyReceivers } from '../support/notify-receivers.js';
import type { TestCluster } from '../es-double/cluster.js';

const prefix = `it-queue-${Date.now()}`;
const RANKED = '+12025550701'; // talked to 1001, then to 1002
const WAITER = '+12025550702'; // talked to 1002; held while 1002 is busy, gives up
const FREEPBX = '+12025550703'; // DID 200, queue sales, Local member 1001
const HOTDESK = '+12025550704'; // DID 200, agent "alice" hot-desking
const ATTEMPTED = '+12025550705'; // 1002 called them, no answer
const BUSY_MAKER = '+12025550709';

let cluster: TestCluster;
let router: RouterProcess;
let ami: AmiWatch;
let rx: NotifyReceivers;
let base: string;
let routesFile: string;

const routes = {
  dids: {
    '100': { queue: 'support' },
    '200': { queue: 'sales', fallback: { context: 'ivr-sales', extension: 's' } },
    // The held caller gives up after ~3 s: below the default SHORT_ABANDON (PT5S), which notifies nobody.
    '300': { queue: 'support', waitForBusyAgent: 'PT20S', shortAbandon: 'PT1S' },
    '400': { queue: 'support', learnFromAttempts: false },
  },
};

before(async () => {
  await hangupAllChannels();
  const now = DateTime.utc();
  cluster = await seededCluster(prefix, [
    historyDoc(RANKED, '1001', now.minus({ minutes: 10 })),
    historyDoc(RANKED, '1002', now.minus({ minutes: 5 })),
    historyDoc(WAITER, '1002', now.minus({ minutes: 4 })),
  ]);
  routesFile = join(mkdtempSync(join(tmpdir(), 'sticky-routes-')), 'routes.json');
  writeFileSync(routesFile, JSON.stringify(routes));
  rx = await startNotifyReceivers();
  ami = await watchAmi();
  router = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, ROUTES_FILE: routesFile, AGENT_RING_TIMEOUT: 'PT8S', ...rx.env });
  const listening = await router.waitForLog((l) => l.msg === 'http listening', 5000, 'http listening');
  base = `http://127.0.0.1:${listening.port as number}`;
  await router.waitForLog((l) => l.msg === 'queue state loaded', 5000, 'queue state loaded');
});

after(async () => {
  for (const [q, i] of [['support', 'PJSIP/1001'], ['support', 'PJSIP/1002']] as const) await amiAction({ Action: 'QueuePause', Queue: q, Interface: i, Paused: 'false' }).catch(() => undefined);
  for (const i of ['Local/1002@from-queue/n', 'Local/1003@from-queue/n']) await amiAction({ Action: 'QueueRemove', Queue: 'sales', Interface: i }).catch(() => undefined);
  await router?.stop();
  await ami?.stop();
  await rx?.close();
  await cluster?.close();
});

const amiAction = (fields: Record<string, string>) => ami.ami.action(fields);
const decisionsFor = (caller: string) => router.lines.filter((l) => l.event === 'decision' && (l.caller as { raw?: string }).raw === caller);

/** `sticky-router lookup --json` beside the running router: its DATA_DIR, the same cluster, AMI and ARI. */
async function cliLookup(number: string, did: string, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'lookup', number, '--did', did, '--json'], {
    env: { PATH: process.env.PATH, ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, DATA_DIR: router.dataDir, ROUTES_FILE: routesFile, ...harnessEnv, ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise((r) => child.on('close', r));
  try {
    return JSON.parse(out) as Record<string, unknown>;
  } catch {
    throw new Error(`lookup printed no JSON: ${out} ${err}`);
  }
}

async function httpLookup(number: string, did?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/v1/lookup/${encodeURIComponent(number)}${did ? `?did=${did}` : ''}`);
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

/** Waits until the running router (GET /v1/lookup) would decide as `pred` says: AMI queue events are asynchronous. */
async function routerSees(number: string, did: string, pred: (r: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
  return poll(() => httpLookup(number, did), pred, 10_000, what, 200);
}

test('paused agents are not rung: the most recent agent paused → the one before rings (rank 2); both paused → agent_paused', async () => {
  const p1 = await phoneUp('1001', () => startAgent('1001', { ringMs: 300 }));
  const p2 = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  const phones: Agent[] = [p1, p2];
  try {
    await agentStatesLoaded(router);
    await amiAction({ Action: 'QueuePause', Queue: 'support', Interface: 'PJSIP/1002', Paused: 'true', Reason: 'lunch' });
    await ami.waitFor((e) => e.Event === 'QueueMemberPause' && e.Interface === 'PJSIP/1002' && e.Paused === '1', 5000, 'QueueMemberPause');
    // What lookup says (the CLI and the router's /v1/lookup) is what the call gets.
    const before = await routerSees(RANKED, '100', (r) => r.agent === '1001', '/v1/lookup: 1001 at rank 2');
    const cli = await cliLookup(RANKED, '100');
    for (const a of [before, cli]) {
      assert.equal(a.rank, 2);
      assert.equal(a.agent, '1001');
      assert.deepEqual((a.candidates as { agent: string; state: string }[]).map((c) => [c.agent, c.state]), [['1002', 'paused'], ['1001', 'online']]);
    }

    let from = router.lines.length;
    const r1 = await call('100', RANKED, { talkMs: 1500 });
    assert.equal(r1.exitCode, 0, r1.errors.slice(0, 300));
    const d1 = await decisionAfter(router, RANKED, from);
    assert.equal(d1.reason, 'sticky_agent');
    assert.equal(d1.agent, '1001', 'the agent before the paused one');
    assert.equal(d1.rank, 2, 'the decision names the rank that hit');
    assert.deepEqual(d1.tried, [{ agent: '1002', state: 'paused', via: 'talk' }, { agent: '1001', state: 'online', via: 'talk' }]);
    await waitChannelsGone();

    await amiAction({ Action: 'QueuePause', Queue: 'support', Interface: 'PJSIP/1001', Paused: 'true' });
    await ami.waitFor((e) => e.Event === 'QueueMemberPause' && e.Interface === 'PJSIP/1001' && e.Paused === '1', 5000, 'QueueMemberPause 1001');
    await routerSees(RANKED, '100', (r) => r.reason === 'agent_paused', 'lookup: agent_paused');
    from = router.lines.length;
    const r2 = await call('100', RANKED, { talkMs: 1500 });
    assert.equal(r2.exitCode, 0);
    const d2 = await decisionAfter(router, RANKED, from);
    assert.equal(d2.reason, 'agent_paused', JSON.stringify(d2));
    assert.equal(d2.action, 'fallback');
    await waitChannelsGone();
    const traces = await Promise.all(phones.map((p) => p.stop()));
    assert.equal(traces[0]!.invites.length, 1, '1001 rang once (rank 2, before being paused)');
    assert.equal(traces[1]!.invites.length, 0, 'paused 1002 was never rung');

    // The reason code reaches metrics and the CDR (and so Kibana).
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^sticky_decisions_total\{reason="agent_paused"\} [1-9]/m);
    await poll(() => journalCdrs(router.dataDir, (d) => d.customer_e164 === RANKED && d.sticky_reason === 'agent_paused'), (ds) => ds.length >= 1, 10_000, 'a CDR with sticky_reason agent_paused');
  } finally {
    await Promise.all(phones.map((p) => p.stop()));
    await amiAction({ Action: 'QueuePause', Queue: 'support', Interface: 'PJSIP/1001', Paused: 'false' }).catch(() => undefined);
    await amiAction({ Action: 'QueuePause', Queue: 'support', Interface: 'PJSIP/1002', Paused: 'false' }).catch(() => undefined);
  }
});

test('FreePBX-style member Local/1001@from-queue/n: the queue call teaches 1001; in wrap-up the call-back is agent_busy, after it 1001 is rung through its Local member', async () => {
  const phone = await phoneUp('1001', () => startAgent('1001', { ringMs: 300 }));
  try {
    await agentStatesLoaded(router);
    let from = router.lines.length;
    const first = await call('200', FREEPBX, { talkMs: 2500 });
    assert.equal(first.exitCode, 0, first.errors.slice(0, 300));
    assert.equal((await decisionAfter(router, FREEPBX, from)).reason, 'no_history');
    const connect = await ami.waitFor((e) => e.Event === 'AgentConnect' && e.Queue === 'sales' && e.CallerIDNum === FREEPBX, 10_000, 'AgentConnect in sales');
    assert.equal(connect.Interface, 'Local/1001@from-queue/n');
    const [doc] = await poll(() => journalCdrs(router.dataDir, (d) => d.customer_e164 === FREEPBX && d.talked), (ds) => ds.length >= 1, 10_000, 'the CDR naming 1001');
    assert.equal(doc!.agent, '1001', `the member is the agent (CDR leg ${doc!.asterisk.dstchannel})`);
    assert.match(doc!.asterisk.dstchannel, /^Local\/1001@from-queue-/);
    await waitChannelsGone();

    // Member wrap-up (queues.conf: 6 s): the agent is busy.
    from = router.lines.length;
    await call('200', FREEPBX, { talkMs: 500 });
    const d2 = await decisionAfter(router, FREEPBX, from);
    assert.equal(d2.reason, 'agent_busy', `in wrap-up: ${JSON.stringify(d2.tried)}`);
    await waitChannelsGone();

    await new Promise((r) => setTimeout(r, 6000));
    from = router.lines.length;
    const third = await call('200', FREEPBX, { talkMs: 1000 });
    assert.equal(third.exitCode, 0);
    const d3 = await decisionAfter(router, FREEPBX, from);
    assert.equal(d3.reason, 'sticky_agent', JSON.stringify(d3));
    assert.equal(d3.agent, '1001');
    assert.equal(d3.dial, 'Local/1001@from-queue/n', 'rung through the member interface');
    await ami.waitFor((e) => e.Event === 'DialBegin' && e.CallerIDNum === FREEPBX && /^Local\/1001@from-queue/.test(e.DestChannel ?? ''), 5000, 'Dial of the Local member');
    const { invites } = await phone.stop();
    assert.equal(invites.length, 2, 'the phone rang for the queue call and for the sticky call-back');
  } finally {
    await phone.stop();
    await waitChannelsGone();
  }
});

test('hot-desking agent "alice" (AddQueueMember with MemberName): learned as alice; logged out → agent_logged_out; logged in at another phone → rung there', async () => {
  await waitEndpointState('1001', 'offline');
  await amiAction({ Action: 'QueueAdd', Queue: 'sales', Interface: 'Local/1003@from-queue/n', MemberName: 'alice', StateInterface: 'PJSIP/1003' });
  await ami.waitFor((e) => e.Event === 'QueueMemberAdded' && e.MemberName === 'alice', 5000, 'alice added');
  let p3: Agent | undefined = await phoneUp('1003', () => startAgent('1003', { ringMs: 300 }));
  let p2: Agent | undefined;
  try {
    await agentStatesLoaded(router);
    let from = router.lines.length;
    const first = await call('200', HOTDESK, { talkMs: 2500 });
    assert.equal(first.exitCode, 0, first.errors.slice(0, 300));
    assert.equal((await decisionAfter(router, HOTDESK, from)).reason, 'no_history');
    const [doc] = await poll(() => journalCdrs(router.dataDir, (d) => d.customer_e164 === HOTDESK && d.talked), (ds) => ds.length >= 1, 10_000, 'the CDR naming alice');
    assert.equal(doc!.agent, 'alice', 'the agent is the member, not the phone she sat at');
    await waitChannelsGone();
    assert.equal((await p3.stop()).invites.length, 1);
    p3 = undefined;

    await amiAction({ Action: 'QueueRemove', Queue: 'sales', Interface: 'Local/1003@from-queue/n' });
    await ami.waitFor((e) => e.Event === 'QueueMemberRemoved' && e.Interface === 'Local/1003@from-queue/n', 5000, 'alice removed');
    from = router.lines.length;
    await call('200', HOTDESK, { talkMs: 500 });
    const d2 = await decisionAfter(router, HOTDESK, from);
    assert.equal(d2.reason, 'agent_logged_out', JSON.stringify(d2));
    await waitChannelsGone();

    p2 = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
    await amiAction({ Action: 'QueueAdd', Queue: 'sales', Interface: 'Local/1002@from-queue/n', MemberName: 'alice', StateInterface: 'PJSIP/1002' });
    await routerSees(HOTDESK, '200', (r) => r.reason === 'sticky_agent', 'lookup: alice back, at 1002');
    from = router.lines.length;
    const third = await call('200', HOTDESK, { talkMs: 1000 });
    assert.equal(third.exitCode, 0);
    const d3 = await decisionAfter(router, HOTDESK, from);
    assert.equal(d3.reason, 'sticky_agent', JSON.stringify(d3));
    assert.equal(d3.agent, 'alice');
    assert.equal(d3.dial, 'Local/1002@from-queue/n', 'rung wherever she is logged in now');
    assert.equal((await p2.stop()).invites.length, 1, "1002's phone, where alice sits now, rang");
  } finally {
    await p3?.stop();
    await p2?.stop();
    await amiAction({ Action: 'QueueRemove', Queue: 'sales', Interface: 'Local/1002@from-queue/n' }).catch(() => undefined);
    await waitChannelsGone();
  }
});

test('learnFromAttempts: 1002 called a customer who did not answer; their call-back reaches 1002 (decision: from an attempt); not on a DID with learnFromAttempts false', async () => {
  const customer = await startCustomerPhone({ answer: false });
  const p2 = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
  try {
    await agentStatesLoaded(router);
    // 1002 dials out, lets it ring 2 s, hangs up.
    const out = await call(ATTEMPTED, '1002', { cancelAfterMs: 2000, localPort: 5082, timeoutS: 30 });
    assert.equal(out.exitCode, 0, out.errors.slice(0, 300));
    const [doc] = await poll(() => journalCdrs(router.dataDir, (d) => d.customer_e164 === ATTEMPTED), (ds) => ds.length >= 1, 10_000, 'the outbound CDR');
    assert.equal(doc!.direction, 'outbound');
    assert.equal(doc!.talked, false);
    assert.equal(doc!.attempt, true);
    await waitChannelsGone();

    // Per DID: DID 400 has learnFromAttempts false (asked before any conversation exists).
    assert.equal((await httpLookup(ATTEMPTED, '400')).reason, 'no_history', 'DID 400 has learnFromAttempts false');
    const would = await httpLookup(ATTEMPTED, '100');
    assert.equal(would.learnedFrom, 'attempt');
    const from = router.lines.length;
    const back = await call('100', ATTEMPTED, { talkMs: 1000 });
    assert.equal(back.exitCode, 0);
    const d = await decisionAfter(router, ATTEMPTED, from);
    assert.equal(d.reason, 'sticky_agent', JSON.stringify(d));
    assert.equal(d.agent, '1002');
    assert.equal(d.learnedFrom, 'attempt');
    assert.equal((await p2.stop()).invites.length, 1, "1002's phone rang for the customer's call-back");
  } finally {
    await p2.stop();
    await customer.stop();
    await waitChannelsGone();
  }
});

test('held for a busy agent (waitForBusyAgent) and hangs up: an abandon (record, notification, queue_log); lookup then takes the same abandon step as a call', async () => {
  const p2 = await phoneUp('1002', () => startAgent('1002', { ringMs: 200 }));
  try {
    await agentStatesLoaded(router);
    // 1002 takes another call (DID 999 dials 1002 straight) and stays on it.
    const busy = call('999', BUSY_MAKER, { talkMs: 15_000 });
    await ami.waitFor((e) => e.Event === 'DialEnd' && e.CallerIDNum === BUSY_MAKER && e.DialStatus === 'ANSWER', 10_000, '1002 on another call');
    await routerSees(WAITER, '300', (r) => r.action === 'wait_for_agent', 'lookup: would wait for busy 1002');

    const from = router.lines.length;
    const gaveUp = await call('300', WAITER, { cancelAfterMs: 3000 });
    assert.equal(gaveUp.exitCode, 0, gaveUp.errors.slice(0, 300));
    const d = await decisionAfter(router, WAITER, from);
    assert.equal(d.reason, 'caller_abandoned', JSON.stringify(d));
    assert.equal(d.agent, '1002');
    const line = await router.waitForLog((l) => l.event === 'abandon' && (l.abandon as { caller: { raw: string } }).caller.raw === WAITER, 10_000, 'abandon line');
    const rec = line.abandon as { source: string; sticky_agent?: string; waited_seconds: number; uniqueid: string; did?: string };
    assert.equal(rec.source, 'sticky_wait');
    assert.equal(rec.sticky_agent, '1002');
    assert.equal(rec.did, '300');
    assert.ok(rec.waited_seconds >= 2 && rec.waited_seconds <= 8, `waited ${rec.waited_seconds} s (held ~3 s)`);
    await poll(() => rx.webhook.requests.filter((r) => r.body.includes(WAITER)).length, (n) => n >= 1, 15_000, 'the webhook notification');
    await poll(() => queueLogLines().filter((l) => l[1] === rec.uniqueid).map((l) => l[4]), (ev) => ev.includes('ABANDON'), 10_000, 'queue_log ABANDON');
    await busy;

    // A caller with no CDR history (journal only) but an abandon waiting for 1002: a
    // live call and `lookup` both take the abandon step and name 1002.
    const cli = await cliLookup(WAITER, '100', { ES_NODE: '' });
    assert.equal(cli.agent, '1002');
    assert.equal(cli.source, 'abandon', JSON.stringify(cli));
    assert.equal((cli.previousAbandon as { agent?: string }).agent, '1002');
    const http = await httpLookup(WAITER);
    assert.ok(http.previousAbandon, '/v1/lookup reports the abandon too');
  } finally {
    await p2.stop();
    await waitChannelsGone(20_000);
  }
});

test('ROUTES_FILE naming a queue the PBX does not have: exit 78 at start, naming it', async () => {
  const bad = join(mkdtempSync(join(tmpdir(), 'sticky-routes-')), 'routes.json');
  writeFileSync(bad, JSON.stringify({ dids: { '100': { queue: 'suport' } } }));
  const r = await startRouter({ ROUTES_FILE: bad }, { waitReady: false });
  const code = await new Promise<number | null>((resolve) => r.proc.once('exit', (c) => resolve(c)));
  assert.equal(code, 78, r.stderr.join(''));
  assert.match(r.stderr.join(''), /queue "suport" is not a queue on this PBX \(it has: .*support/);
});

test('the decisions of this file never rang an agent the queue state ruled out', () => {
  for (const c of [RANKED, FREEPBX, HOTDESK, ATTEMPTED, WAITER]) {
    for (const d of decisionsFor(c)) {
      if (d.action !== 'ring') continue;
      const tried = (d.tried as { agent: string; state: string }[] | undefined) ?? [];
      const rung = tried.find((t) => t.agent === d.agent);
      assert.ok(!rung || ['online', 'unknown'].includes(rung.state), `${c}: rang ${String(d.agent)} in state ${rung?.state}`);
    }
  }
});
