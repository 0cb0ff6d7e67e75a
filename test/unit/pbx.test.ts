// Several PBXs (src/pbx): PBX_ROUTES, what a published agent state says, the
// remote agent's candidate within the call's budget, the publisher against the
// Elasticsearch double, and the PBX names on CDRs and lookup hits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { cdrFromAmiEvent } from '../../src/cdr/from-ami.js';
import { installTemplates } from '../../src/cdr/index-template.js';
import { Journal } from '../../src/cdr/journal.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { stateFromDoc, type AgentStateDoc } from '../../src/pbx/agent-state-doc.js';
import { AgentStatePublisher } from '../../src/pbx/agent-state-publisher.js';
import { PbxMetrics } from '../../src/pbx/metrics.js';
import { Registry } from 'prom-client';
import { RemotePbxAgents } from '../../src/pbx/remote-agents.js';
import { dialFor, parsePbxRoutes } from '../../src/pbx/routes.js';
import { budgetSignal } from '../../src/routing/budget.js';
import type { AgentState } from '../../src/routing/decide.js';
import { DidPolicies } from '../../src/routing/did-policy.js';
import { distinctAgents, type LastAgentHit } from '../../src/routing/lookup.js';
import { resolveRoute } from '../../src/routing/resolve.js';
import { MemoryAffinity } from '../../src/routing/sources/memory.js';
import { normalizeNumber } from '../../src/numbers.js';
import { startEsDouble, type EsDouble } from '../es-double/server.js';
import { queueAnsweredBy1002 } from '../support/fixtures/cdrs.js';

const log = pino({ level: 'silent' });
const prefix = 't-pbx';
const policies = DidPolicies.fromConfig({ STICKY_WINDOW: 1800_000, AGENT_RING_TIMEOUT: 20_000, FALLBACK_CONTEXT: 'ivr', FALLBACK_EXTENSION: 's' }, { dids: { '100': { queue: 'support' } } });
const routes = parsePbxRoutes('pbx-a=PJSIP/${agent}@pbx-a, pbx-b=PJSIP/${agent}@pbx-b');
let double: EsDouble;
let client: Client;

before(async () => {
  double = await startEsDouble();
  client = new Client({ node: double.url });
  await installTemplates(client, prefix);
});
after(async () => {
  await client.close();
  await double.close();
});

test('PBX_ROUTES: name=template pairs; each template needs ${agent} and nothing Dial() or the dialplan would split on', () => {
  assert.deepEqual([...routes], [['pbx-a', 'PJSIP/${agent}@pbx-a'], ['pbx-b', 'PJSIP/${agent}@pbx-b']]);
  assert.equal(dialFor(routes, 'pbx-a', '1002'), 'PJSIP/1002@pbx-a');
  assert.equal(dialFor(routes, 'pbx-a', '10)02~x'), 'PJSIP/1002x@pbx-a', 'an agent id cannot smuggle dial arguments');
  assert.equal(dialFor(routes, 'pbx-c', '1002'), undefined);
  assert.equal(dialFor(parsePbxRoutes('pbx-a=PJSIP/{agent}@pbx-a'), 'pbx-a', '1002'), 'PJSIP/1002@pbx-a', '{agent}, for files that expand ${…} themselves');
  assert.equal(parsePbxRoutes(undefined).size, 0);
  for (const [bad, why] of [
    ['pbx-a', /expected <pbx name>=<dial string>/],
    ['pbx-a=PJSIP/1002@pbx-a', /with \$\{agent\}/],
    ['pbx-a=PJSIP/${agent}@pbx a', /no commas, spaces/],
    ['pbx-a=PJSIP/${agent}@pbx-a(x)', /parentheses/],
    ['pbx-a=PJSIP/${agent}@a,pbx-a=PJSIP/${agent}@b', /appears twice/],
  ] as const) assert.throws(() => parsePbxRoutes(bad), why, bad);
  // At start-up, a bad value is one config line naming it (exit 78).
  const base = { ARI_USERNAME: 'u', ARI_PASSWORD: 'p', AMI_USERNAME: 'u', AMI_PASSWORD: 'p' };
  assert.throws(() => loadConfig({ ...base, PBX_ROUTES: 'pbx-a=SIP/1002' }), (err: unknown) => err instanceof ConfigError && /^config: PBX_ROUTES="pbx-a=SIP\/1002" is invalid: expected pbx=dial string pairs/.test(err.message));
  assert.throws(() => loadConfig({ ...base, PBX_NAME: 'pbx a' }), /PBX_NAME/);
  const ok = loadConfig({ ...base, PBX_NAME: 'pbx-a', PBX_ROUTES: 'pbx-b=PJSIP/${agent}@pbx-b' });
  assert.equal(ok.AGENT_STATE_TTL, 30_000);
});

test('a published state: missing or expired says nothing (unknown); the DID\'s queue decides where the PBX knows its queues', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  const doc: AgentStateDoc = { '@timestamp': '2026-12-01T09:59:59Z', pbx: 'pbx-a', agent: '1002', state: 'online', queues: [{ queue: 'support', state: 'paused' }], expires_at: '2026-12-01T10:00:20Z' };
  const support = { queue: 'support' };
  assert.deepEqual(stateFromDoc(undefined, support, now), { state: 'unknown', note: 'no_state_published' });
  assert.deepEqual(stateFromDoc({ ...doc, expires_at: '2026-12-01T09:59:00Z' }, support, now), { state: 'unknown', note: 'state_expired' });
  assert.deepEqual(stateFromDoc(doc, support, now), { state: 'paused' });
  assert.deepEqual(stateFromDoc(doc, {}, now), { state: 'online' }, 'a DID without a queue: the phone');
  assert.deepEqual(stateFromDoc(doc, { queue: 'sales' }, now), { state: 'logged_out' }, 'not a member of the DID\'s queue');
  const { queues: _q, ...unsynced } = doc;
  assert.deepEqual(stateFromDoc(unsynced, support, now), { state: 'online' }, 'queue state unknown there: the phone');
});

test('the publisher writes every agent, then only changes; stop expires its documents', async () => {
  const phones = new Map<string, AgentState>([['1001', 'online'], ['1002', 'busy']]);
  let paused = false;
  let now = Date.parse('2026-12-01T10:00:00Z');
  const registry = new Registry();
  const metrics = new PbxMetrics(registry);
  const p = new AgentStatePublisher({
    onWrite: (ok) => metrics.written(ok),
    client,
    prefix,
    pbx: 'pbx-a',
    ttlMs: 30_000,
    debounceMs: 5,
    log,
    now: () => now,
    agents: { phones: () => phones, members: () => ['alice'], queues: (a) => (a === '1002' ? [{ queue: 'support', state: paused ? 'paused' : 'busy' }] : []) },
  });
  const states = () => new Map(double.docs(`${prefix}-agent-states`).map((d) => [d.id, d.source as unknown as AgentStateDoc]));
  const wait = async (pred: () => boolean) => {
    for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(pred());
  };
  p.start();
  await wait(() => states().size === 3 && p.stats.writes === 1);
  assert.deepEqual([...states().keys()].sort(), ['pbx-a:1001', 'pbx-a:1002', 'pbx-a:alice']);
  assert.equal(states().get('pbx-a:1002')!.expires_at, '2026-12-01T10:00:30.000Z');
  assert.equal(states().get('pbx-a:alice')!.state, 'unknown', 'a hot-desk member without a phone of that name');
  const before = p.stats.docs;
  now += 1000;
  paused = true;
  p.changed();
  await wait(() => states().get('pbx-a:1002')!.queues![0]!.state === 'paused' && p.stats.writes === 2);
  assert.equal(p.stats.docs - before, 1, 'only the changed agent is rewritten');
  assert.match(await registry.metrics(), /^sticky_agent_state_writes_total\{result="ok"\} 2$/m);
  await p.stop();
  for (const d of states().values()) assert.ok(Date.parse(d.expires_at) <= now, `${d.agent} expired on stop`);
});

test('a remote agent: its route and published state; no route skips them; a slow cluster costs no more than the budget left', async () => {
  const reads: (string | undefined)[] = [];
  const remote = new RemotePbxAgents({ pbx: () => 'pbx-b', routes, client, prefix, timeoutMs: 300, log, onRead: (n) => reads.push(n) });
  assert.equal(remote.isRemote('pbx-a'), true);
  assert.equal(remote.isRemote('pbx-b'), false);
  assert.equal(remote.isRemote(undefined), false, 'records from before PBX names are local');
  assert.equal(new RemotePbxAgents({ pbx: () => undefined, routes, client, prefix, timeoutMs: 300, log }).isRemote('pbx-a'), false, 'a router without a name has no remote agents');
  const now = Date.now();
  await client.index({ index: `${prefix}-agent-states`, id: 'pbx-a:1002', document: { '@timestamp': new Date(now).toISOString(), pbx: 'pbx-a', agent: '1002', state: 'online', queues: [{ queue: 'support', state: 'paused' }], expires_at: new Date(now + 30_000).toISOString() } });
  const hit: LastAgentHit = { agent: '1002', pbx: 'pbx-a', endedAt: DateTime.utc(), talkSeconds: 60, source: 'elasticsearch' };
  assert.deepEqual(await remote.candidate(hit, policies.for('100')), { hit, state: 'paused', dial: 'PJSIP/1002@pbx-a' });
  assert.deepEqual(await remote.candidate(hit, policies.for('999')), { hit, state: 'online', dial: 'PJSIP/1002@pbx-a' });
  assert.deepEqual(await remote.candidate({ ...hit, pbx: 'pbx-c' }, policies.for('100')), { hit: { ...hit, pbx: 'pbx-c' }, state: 'offline', note: 'no_route_to_pbx' });
  assert.deepEqual(await remote.candidate({ ...hit, agent: '1009' }, policies.for('100')), { hit: { ...hit, agent: '1009' }, state: 'unknown', dial: 'PJSIP/1009@pbx-a', note: 'no_state_published' });
  double.setLatency(2000);
  try {
    const t0 = performance.now();
    const c = await remote.candidate(hit, policies.for('100'), budgetSignal(150));
    const ms = performance.now() - t0;
    assert.deepEqual(c, { hit, state: 'unknown', dial: 'PJSIP/1002@pbx-a', note: 'state_not_read_in_budget' });
    // The cluster answers after 2 s; the budget's timer ends the wait (slack for a loaded 2-core machine, as lookup-sources.test.ts).
    assert.ok(ms < 400, `answered in ${ms.toFixed(0)} ms for a 150 ms budget (the cluster takes 2000 ms)`);
  } finally {
    double.setLatency(0);
  }
  // What sticky_remote_agent_reads_total{outcome} counts.
  assert.deepEqual(reads, [undefined, undefined, 'no_route_to_pbx', 'no_state_published', 'state_not_read_in_budget']);
});

test('resolveRoute: a hit on another PBX is decided from its published state and rung through its route, within LOOKUP_TIMEOUT', async () => {
  const remote = new RemotePbxAgents({ pbx: () => 'pbx-b', routes, client, prefix, timeoutMs: 300, log });
  const hit: LastAgentHit = { agent: '1002', pbx: 'pbx-a', endedAt: DateTime.utc().minus({ minutes: 1 }), talkSeconds: 60, source: 'elasticsearch' };
  const deps = {
    lookup: { name: 'fake', lastAgentFor: async () => hit },
    agentState: () => 'offline' as const, // the local 1002 (another person) must not matter
    policies,
    region: undefined,
    lookupTimeoutMs: 300,
    clock: () => DateTime.utc(),
    remote,
  };
  const caller = normalizeNumber('+12025550100', undefined);
  // This PBX's own name on a record, and no name (a record from before PBX names): one local agent, ranked once.
  const own: LastAgentHit[] = [
    { agent: '1001', pbx: 'pbx-b', endedAt: DateTime.utc().minus({ minutes: 1 }), talkSeconds: 60, source: 'elasticsearch' },
    { agent: '1001', endedAt: DateTime.utc().minus({ minutes: 5 }), talkSeconds: 60, source: 'elasticsearch' },
    hit,
  ];
  const mixed = await resolveRoute(caller, '999', DateTime.utc(), { ...deps, lookup: { name: 'fake', lastAgentFor: async () => undefined, lastAgentsFor: async () => own }, agentState: () => 'online' as const });
  assert.deepEqual(mixed.candidates.map((c) => `${c.hit.agent}@${c.hit.pbx ?? 'here'}:${c.state}`), ['1001@here:online', '1002@pbx-a:online']);
  const paused = await resolveRoute(caller, '100', DateTime.utc(), deps);
  assert.equal(paused.decision.reason, 'agent_paused');
  const r = await resolveRoute(caller, '999', DateTime.utc(), deps);
  assert.equal(r.decision.action, 'ring');
  assert.equal(r.decision.reason, 'sticky_agent');
  assert.ok(r.decision.action === 'ring' && r.decision.dial === 'PJSIP/1002@pbx-a' && r.decision.pbx === 'pbx-a', JSON.stringify(r.decision));
  // The lookup eats most of the budget: the state read gets the rest, not a budget of its own.
  double.setLatency(2000);
  try {
    const slow = { ...deps, lookup: { name: 'slow', lastAgentFor: async () => (await new Promise((res) => setTimeout(res, 200)), hit) } };
    const t0 = performance.now();
    const late = await resolveRoute(caller, '100', DateTime.utc(), slow);
    const ms = performance.now() - t0;
    assert.ok(ms < 300 + 250, `decided in ${ms.toFixed(0)} ms for LOOKUP_TIMEOUT 300 ms (the lookup takes 200, the cluster 2000)`);
    assert.equal(late.candidates[0]!.note, 'state_not_read_in_budget');
    assert.equal(late.decision.reason, 'sticky_agent', 'unknown rings: Dial() through the trunk reports what the phone does');
  } finally {
    double.setLatency(0);
  }
});

test("CDRs name their PBX (PBX_NAME or the event's SystemName) and the agent's; a sticky ring through a trunk names the other PBX", () => {
  const opts = { agentChannelPattern: /^PJSIP\/(\d+)-[0-9a-f]+$/, minTalkSeconds: () => 10 };
  const named = cdrFromAmiEvent(queueAnsweredBy1002, { ...opts, pbx: 'pbx-a' })!;
  assert.deepEqual([named.pbx, named.agent, named.agent_pbx], ['pbx-a', '1002', 'pbx-a']);
  const sys = cdrFromAmiEvent({ ...queueAnsweredBy1002, SystemName: 'pbx-x' }, opts)!;
  assert.deepEqual([sys.pbx, sys.agent_pbx], ['pbx-x', 'pbx-x']);
  const none = cdrFromAmiEvent(queueAnsweredBy1002, opts)!;
  assert.equal('pbx' in none || 'agent_pbx' in none, false, 'single-PBX records stay as they were');
  const viaTrunk = { ...queueAnsweredBy1002, LastApplication: 'Dial', LastData: 'PJSIP/1002@pbx-a,20', DestinationChannel: 'PJSIP/pbx-a-0000000b' };
  const remote = cdrFromAmiEvent(viaTrunk, { ...opts, pbx: 'pbx-b', annotate: () => ({ did: '100', reason: 'sticky_agent', rangAgent: '1002', rangPbx: 'pbx-a' }) })!;
  assert.deepEqual([remote.pbx, remote.agent, remote.agent_pbx, remote.talked], ['pbx-b', '1002', 'pbx-a', true]);
});

test('an agent is an extension on a PBX: 1002 on pbx-a and 1002 on pbx-b are ranked apart, by memory, journal and the dedup', async () => {
  const t = (m: number) => DateTime.fromISO('2026-12-01T10:00:00Z', { zone: 'utc' }).plus({ minutes: m });
  const hits: LastAgentHit[] = [
    { agent: '1002', pbx: 'pbx-a', endedAt: t(1), talkSeconds: 1, source: 's' },
    { agent: '1002', pbx: 'pbx-b', endedAt: t(2), talkSeconds: 1, source: 's' },
    { agent: '1002', pbx: 'pbx-a', endedAt: t(0), talkSeconds: 1, source: 's' },
  ];
  assert.deepEqual(distinctAgents(hits, 5).map((h) => `${h.agent}@${h.pbx}`), ['1002@pbx-b', '1002@pbx-a']);
  const memory = new MemoryAffinity({ now: () => t(10) });
  memory.remember('+12025550100', '1002', t(1), 60, 'talk', 'pbx-a');
  memory.remember('+12025550100', '1002', t(2), 60, 'talk', 'pbx-b');
  const m = await memory.lastAgentsFor('+12025550100', t(-30), new AbortController().signal, { limit: 5, attempts: false });
  assert.deepEqual(m.map((h) => `${h.agent}@${h.pbx}`), ['1002@pbx-b', '1002@pbx-a']);
  const dir = mkdtempSync(join(tmpdir(), 'sticky-pbx-journal-'));
  const j = new Journal(join(dir, 'j'));
  try {
    const doc = cdrFromAmiEvent(queueAnsweredBy1002, { agentChannelPattern: /^PJSIP\/(\d+)-[0-9a-f]+$/, minTalkSeconds: () => 10, pbx: 'pbx-a' })!;
    j.append(doc);
    const found = j.lastAgentsFor('+12025550100', DateTime.fromISO('2025-06-01T09:00:00Z'), 5, false);
    assert.deepEqual(found.map((h) => `${h.agent}@${h.pbx}`), ['1002@pbx-a']);
    assert.equal(j.lastAgentFor('+12025550100', DateTime.fromISO('2025-06-01T09:00:00Z'))?.pbx, 'pbx-a');
  } finally {
    j.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
