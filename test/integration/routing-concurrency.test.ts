// 20 callers at once, each with their own history: every caller reaches the agent
// their history names (or the fallback, with the reason saying why), never another
// caller's agent. Cross-talk would show as a sticky Dial to the wrong agent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { testCluster } from '../es-double/cluster.js';
import { watchAmi, type AmiWatch } from '../support/ami-events.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent, type Agent } from '../support/sipp.js';
import { historyDoc, seededCluster } from '../support/history.js';
import { waitChannelsGone, hangupAllChannels, phoneUp } from '../support/harness.js';

const prefix = `it-concurrency-${Date.now()}`;
let cluster: Awaited<ReturnType<typeof testCluster>>;
let router: RouterProcess;
let ami: AmiWatch;
let agents: Agent[] = [];

// Caller i: +1202555 02ii. Every fourth has no history; the rest talked to 1001/1002/1003.
const callers = Array.from({ length: 20 }, (_, i) => ({
  number: `+12025550${String(200 + i)}`,
  agent: i % 4 === 0 ? undefined : `100${1 + (i % 3)}`,
}));

before(async () => {
  await hangupAllChannels();
  const now = DateTime.utc();
  cluster = await seededCluster(prefix, callers.filter((c) => c.agent).map((c, i) => historyDoc(c.number, c.agent!, now.minus({ minutes: 1 + i }))));
  ami = await watchAmi();
  router = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT8S' });
  agents = await Promise.all(['1001', '1002', '1003'].map((a) => phoneUp(a, () => startAgent(a, { ringMs: 300 }))));
});

after(async () => {
  for (const a of agents) await a.stop();
  await router?.stop();
  await ami?.stop();
  await cluster?.clean(prefix);
  await cluster?.close();
});

test('20 concurrent callers with different histories each reach their own agent or the fallback; no cross-talk', async () => {
  const results = await Promise.all(callers.map((c) => call('100', c.number, { talkMs: 2000 })));
  results.forEach((r, i) => assert.equal(r.exitCode, 0, `caller ${callers[i]!.number} completed`));
  let sticky = 0;
  for (const c of callers) {
    const d = await router.waitForLog((l) => l.event === 'decision' && (l.caller as { raw: string }).raw === c.number, 15_000, `decision for ${c.number}`);
    const dials = ami.events.filter((e) => e.Event === 'DialBegin' && e.Context === 'sticky-ring' && e.CallerIDNum === c.number);
    if (d.reason === 'lookup_failed') {
      // An overloaded machine can make a lookup miss its budget, with or without history
      // to find: then the caller must still be sent on within it, and nowhere else.
      assert.ok((d.decideMs as number) <= 300 + 200, `${c.number}: fallback within budget (${d.decideMs} ms)`);
      assert.equal(dials.length, 0);
      continue;
    }
    if (!c.agent) {
      assert.equal(d.reason, 'no_history', c.number);
      assert.equal(dials.length, 0, `${c.number} has no history: no sticky dial`);
      continue;
    }
    assert.equal(d.agent, c.agent, `${c.number}'s decision names their own agent: ${JSON.stringify(d)}`);
    // Agents take several calls at once here, so a caller may find their agent busy.
    assert.ok(['sticky_agent', 'agent_busy'].includes(d.reason as string), `${c.number}: ${d.reason}`);
    if (d.reason === 'sticky_agent') {
      sticky++;
      assert.equal(dials.length, 1, `${c.number}: one sticky dial`);
      assert.match(dials[0]!.DestChannel ?? '', new RegExp(`^PJSIP/${c.agent}-`), `${c.number} rang ${c.agent}, not another agent`);
    } else assert.equal(dials.length, 0);
  }
  // Each agent's first caller finds them free: at least one sticky call per agent.
  // The rest depend on timing (an agent already on a call is busy), not on the router.
  assert.ok(sticky >= 3, `at least one caller per agent was routed sticky (${sticky}/15)`);
  // Every sticky INVITE an agent's phone saw carried a caller whose history names that agent.
  for (const a of agents) {
    const { invites } = await a.stop();
    for (const inv of invites) {
      const from = /sip:(\+\d+)@/.exec(inv.headers.from ?? '')?.[1];
      const c = callers.find((x) => x.number === from);
      assert.ok(c, `unknown caller ${from} at ${a.ext}`);
    }
  }
  await waitChannelsGone(20_000);
});
