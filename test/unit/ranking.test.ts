// Ranked previous agents and queue state (issue 11): the pure decision over a list
// of candidates, the layers' distinct-agent lookups, and app_queue's member state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { decideRoute, type AgentState, type Candidate, type LookupOutcome } from '../../src/routing/decide.js';
import { DidPolicies } from '../../src/routing/did-policy.js';
import { distinctAgents, type LastAgentHit } from '../../src/routing/lookup.js';
import { MemoryAffinity } from '../../src/routing/sources/memory.js';
import { Journal } from '../../src/cdr/journal.js';
import { normalizeNumber } from '../../src/numbers.js';
import { memberAgentId, memberState, QueueState, type QueueMember } from '../../src/queue/members.js';
import type { AmiEvent } from '../../src/ami/connection.js';

const env = { STICKY_WINDOW: 30 * 60_000, AGENT_RING_TIMEOUT: 20_000, FALLBACK_CONTEXT: 'ivr', FALLBACK_EXTENSION: 's' };
const policies = DidPolicies.fromConfig(env, { dids: { '3': { maxAgents: 3 }, '1': { maxAgents: 1 }, '9': { waitForBusyAgent: 'PT20S' } } });
const now = DateTime.fromISO('2026-12-01T12:00:00Z', { zone: 'utc' });
const caller = normalizeNumber('+12025550100');
const hit = (agent: string, minutesAgo: number, via?: 'attempt'): LastAgentHit => ({ agent, endedAt: now.minus({ minutes: minutesAgo }), talkSeconds: 60, source: 'memory', ...(via ? { via } : {}) });
const cand = (agent: string, minutesAgo: number, state: AgentState, dial?: string): Candidate => ({ hit: hit(agent, minutesAgo), state, ...(dial ? { dial } : {}) });
const decide = (did: string | undefined, candidates: Candidate[]) => {
  const lookup: LookupOutcome = { kind: 'hit', hit: candidates[0]!.hit, ranked: candidates.map((c) => c.hit) };
  return decideRoute({ caller, policy: policies.for(did), lookup, candidates, now });
};

const table: { name: string; did?: string; c: Candidate[]; action: string; reason: string; agent?: string; rank?: number }[] = [
  { name: 'most recent online → rank 1', c: [cand('1002', 5, 'online'), cand('1001', 10, 'online')], action: 'ring', reason: 'sticky_agent', agent: '1002', rank: 1 },
  { name: 'most recent paused → the one before, rank 2', c: [cand('1002', 5, 'paused'), cand('1001', 10, 'online')], action: 'ring', reason: 'sticky_agent', agent: '1001', rank: 2 },
  { name: 'most recent busy (no wait) → rank 2', c: [cand('1002', 5, 'busy'), cand('1001', 10, 'unknown')], action: 'ring', reason: 'sticky_agent', agent: '1001', rank: 2 },
  { name: 'most recent logged out, the one before offline → the first one’s reason', c: [cand('1002', 5, 'logged_out'), cand('1001', 10, 'offline')], action: 'fallback', reason: 'agent_logged_out', agent: '1002' },
  { name: 'default maxAgents 2: a third agent is not tried', c: [cand('1002', 5, 'paused'), cand('1001', 10, 'offline'), cand('1003', 15, 'online')], action: 'fallback', reason: 'agent_paused', agent: '1002' },
  { name: 'maxAgents 3 reaches the third', did: '3', c: [cand('1002', 5, 'paused'), cand('1001', 10, 'offline'), cand('1003', 15, 'online')], action: 'ring', reason: 'sticky_agent', agent: '1003', rank: 3 },
  { name: 'maxAgents 1: only the last agent', did: '1', c: [cand('1002', 5, 'busy'), cand('1001', 10, 'online')], action: 'fallback', reason: 'agent_busy', agent: '1002' },
  { name: 'the one before is outside the window → not tried', c: [cand('1002', 5, 'paused'), cand('1001', 31, 'online')], action: 'fallback', reason: 'agent_paused', agent: '1002' },
  { name: 'waitForBusyAgent: an available older agent beats waiting', did: '9', c: [cand('1002', 5, 'busy'), cand('1001', 10, 'online')], action: 'ring', reason: 'sticky_agent', agent: '1001', rank: 2 },
  { name: 'waitForBusyAgent: nobody free → wait for the busy one', did: '9', c: [cand('1002', 5, 'paused'), cand('1001', 10, 'busy')], action: 'wait_for_agent', reason: 'agent_busy', agent: '1001', rank: 2 },
];
for (const t of table) {
  test(`ranking: ${t.name}`, () => {
    const d = decide(t.did, t.c);
    assert.equal(d.action, t.action);
    assert.equal(d.reason, t.reason);
    if (t.agent) assert.equal('agent' in d ? d.agent : undefined, t.agent);
    if (t.rank) assert.equal('rank' in d ? d.rank : undefined, t.rank);
  });
}

test('the decision carries where to ring a queue member and whether an attempt taught it', () => {
  const d = decideRoute({ caller, policy: policies.for(undefined), lookup: { kind: 'hit', hit: hit('alice', 3, 'attempt') }, candidates: [{ hit: hit('alice', 3, 'attempt'), state: 'online', dial: 'Local/1002@from-queue/n' }], now });
  assert.equal(d.action, 'ring');
  assert.ok(d.action === 'ring' && d.dial === 'Local/1002@from-queue/n' && d.learnedFrom === 'attempt' && d.rank === 1);
});

test('distinctAgents: newest first, one per agent, at most limit', () => {
  const got = distinctAgents([hit('a', 10), hit('b', 5), hit('a', 2), hit('c', 20)], 2);
  assert.deepEqual(got.map((h) => [h.agent, now.diff(h.endedAt, 'minutes').minutes]), [['a', 2], ['b', 5]]);
});

test('memory: several agents per caller; an attempt counts only when asked; a later attempt does not hide a talk', async () => {
  const m = new MemoryAffinity({ now: () => now });
  m.remember('+1', '1001', now.minus({ minutes: 10 }), 60);
  m.remember('+1', '1002', now.minus({ minutes: 5 }), 60);
  m.remember('+1', '1001', now.minus({ minutes: 1 }), 0, 'attempt');
  const sig = new AbortController().signal;
  const since = now.minus({ minutes: 30 });
  assert.deepEqual((await m.lastAgentsFor('+1', since, sig, { limit: 2, attempts: true })).map((h) => [h.agent, h.via]), [['1001', 'attempt'], ['1002', 'talk']]);
  assert.deepEqual((await m.lastAgentsFor('+1', since, sig, { limit: 2, attempts: false })).map((h) => [h.agent, h.via]), [['1002', 'talk'], ['1001', 'talk']]);
  assert.equal((await m.lastAgentFor('+1', since, sig))?.agent, '1002');
});

test('journal: distinct agents newest first; attempts from the document flag', () => {
  const j = new Journal(mkdtempSync(join(tmpdir(), 'rank-')));
  const doc = (id: string, agent: string, min: number, talked: boolean, attempt = false) => ({ id, '@timestamp': now.minus({ minutes: min }).toISO()!, customer_e164: '+1', agent, talked, talk_seconds: talked ? 60 : 0, ...(attempt ? { attempt: true } : {}) });
  j.append(doc('a', '1001', 20, true));
  j.append(doc('b', '1001', 12, true));
  j.append(doc('c', '1002', 8, true));
  j.append(doc('d', '1003', 2, false, true));
  j.append(doc('e', '1004', 1, false));
  const since = now.minus({ minutes: 30 });
  assert.deepEqual(j.lastAgentsFor('+1', since, 5, false).map((h) => [h.agent, h.via, now.diff(h.endedAt, 'minutes').minutes]), [['1002', 'talk', 8], ['1001', 'talk', 12]]);
  assert.deepEqual(j.lastAgentsFor('+1', since, 2, true).map((h) => [h.agent, h.via]), [['1003', 'attempt'], ['1002', 'talk']]);
  j.close();
});

const member = (over: Partial<QueueMember>): QueueMember => ({ queue: 'q', interface: 'PJSIP/1002', name: 'PJSIP/1002', stateInterface: 'PJSIP/1002', paused: false, status: 1, inCall: false, lastCallMs: 0, wrapupSeconds: 0, ...over });

test('member identity: MemberName when a name, else the extension of the interface', () => {
  assert.equal(memberAgentId({ name: 'PJSIP/1002', interface: 'PJSIP/1002' }), '1002');
  assert.equal(memberAgentId({ name: 'Local/1002@from-queue/n', interface: 'Local/1002@from-queue/n' }), '1002');
  assert.equal(memberAgentId({ name: 'alice', interface: 'Local/1003@from-queue/n' }), 'alice');
  assert.equal(memberAgentId({ interface: 'SIP/2001' }), '2001');
});

test('member state: paused, in call, device states, wrap-up (member or queue)', () => {
  const t = 1_000_000;
  assert.equal(memberState(member({ paused: true, status: 1 }), t, 0), 'paused');
  assert.equal(memberState(member({ status: 2 }), t, 0), 'busy');
  assert.equal(memberState(member({ status: 6 }), t, 0), 'busy');
  assert.equal(memberState(member({ inCall: true }), t, 0), 'busy');
  assert.equal(memberState(member({ status: 5 }), t, 0), 'offline');
  assert.equal(memberState(member({ status: 0 }), t, 0), 'unknown');
  assert.equal(memberState(member({ lastCallMs: t - 3000, wrapupSeconds: 5 }), t, 0), 'busy', 'member wrap-up');
  assert.equal(memberState(member({ lastCallMs: t - 6000, wrapupSeconds: 5 }), t, 0), 'online');
  assert.equal(memberState(member({ lastCallMs: t - 3000 }), t, 10), 'busy', "the queue's wrap-up");
});

test('QueueState: snapshot from QueueStatus, then Added/Pause/Status/Removed; logged_out when not a member; unsynced → no verdict', async () => {
  let nowMs = 1_000_000;
  const s = new QueueState(() => nowMs);
  const ev = (e: Record<string, string>) => s.onAmiEvent(e as AmiEvent);
  const ami = {
    action: async (f: Record<string, unknown>) => {
      if (f.Action === 'GetConfig') return { Response: 'Success', 'Category-000000': 'general', 'Category-000001': 'support', 'Line-000001-000003': 'wrapuptime=4' };
      setImmediate(() => {
        ev({ Event: 'QueueParams', Queue: 'support' });
        ev({ Event: 'QueueParams', Queue: 'empty' });
        ev({ Event: 'QueueMember', Queue: 'support', Name: 'PJSIP/1002', Location: 'PJSIP/1002', StateInterface: 'PJSIP/1002', Status: '1', Paused: '0', InCall: '0', LastCall: '0' });
        ev({ Event: 'QueueStatusComplete' });
      });
      return { Response: 'Success' };
    },
  };
  assert.deepEqual(await s.refresh(ami), { queues: 2, members: 1, wrapups: true });
  assert.ok(s.knows('empty') && !s.knows('nosuch'));
  assert.deepEqual(s.lookup('support', '1002')?.state, 'online');
  assert.equal(s.lookup('support', '1001')?.state, 'logged_out');
  ev({ Event: 'QueueMemberPause', Queue: 'support', Interface: 'PJSIP/1002', Paused: '1', PausedReason: 'lunch' });
  assert.equal(s.lookup('support', '1002')?.state, 'paused');
  ev({ Event: 'QueueMemberPause', Queue: 'support', Interface: 'PJSIP/1002', Paused: '0' });
  ev({ Event: 'AgentComplete', Queue: 'support', Interface: 'PJSIP/1002' });
  assert.equal(s.lookup('support', '1002')?.state, 'busy', 'queue wrap-up of 4 s from GetConfig');
  nowMs += 5000;
  assert.equal(s.lookup('support', '1002')?.state, 'online');
  ev({ Event: 'QueueMemberAdded', Queue: 'support', Interface: 'Local/1003@from-queue/n', MemberName: 'alice', StateInterface: 'PJSIP/1003', Status: '1', Paused: '0' });
  assert.deepEqual({ ...s.lookup('support', 'alice'), member: undefined }, { state: 'online', dial: 'Local/1003@from-queue/n', member: undefined });
  ev({ Event: 'QueueMemberStatus', Queue: 'support', Interface: 'Local/1003@from-queue/n', Status: '2' });
  assert.equal(s.lookup('support', 'alice')?.state, 'busy');
  ev({ Event: 'QueueMemberRemoved', Queue: 'support', Interface: 'Local/1003@from-queue/n' });
  assert.equal(s.lookup('support', 'alice')?.state, 'logged_out');
  s.unsync();
  assert.equal(s.lookup('support', '1002'), undefined, 'after an AMI drop, no verdict until the next snapshot');
});

test('ROUTES_FILE: queue, maxAgents and learnFromAttempts per DID; defaults 2 and on', () => {
  const p = DidPolicies.fromConfig(env, { default: { queue: 'support' }, dids: { '200': { queue: 'sales', maxAgents: 3, learnFromAttempts: false } } });
  assert.deepEqual([p.for(undefined).queue, p.for(undefined).maxAgents, p.for(undefined).learnFromAttempts], ['support', 2, true]);
  assert.deepEqual([p.for('200').queue, p.for('200').maxAgents, p.for('200').learnFromAttempts], ['sales', 3, false]);
  assert.deepEqual(p.queues().sort(), ['sales', 'support']);
  assert.throws(() => DidPolicies.fromConfig(env, { dids: { '1': { maxAgents: 0 } } }), /maxAgents/);
  assert.throws(() => DidPolicies.fromConfig(env, { dids: { '1': { queue: 'a b' } } }), /queue/);
});
