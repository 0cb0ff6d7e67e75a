// The pure decision, as a table: every reason code, the window edge, per-DID overrides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { decideRoute, type AgentState, type LookupOutcome } from '../../src/routing/decide.js';
import { DidPolicies } from '../../src/routing/did-policy.js';
import { normalizeNumber } from '../../src/numbers.js';
import { dialplanTarget } from '../../src/ari/handoff.js';

const env = { STICKY_WINDOW: 30 * 60_000, AGENT_RING_TIMEOUT: 20_000, FALLBACK_CONTEXT: 'ivr', FALLBACK_EXTENSION: 's' };
const policies = DidPolicies.fromConfig(env, {
  dids: {
    '200': { window: 'PT5M', ringTimeout: 'PT10S', fallback: { context: 'sales', extension: 'start' } },
    '300': { enabled: false },
    '400': { waitForBusyAgent: 'PT30S' },
  },
});
const now = DateTime.fromISO('2026-11-21T12:00:00Z');
const hit = (minutesAgo: number, agent = '1002'): LookupOutcome => ({ kind: 'hit', hit: { agent, endedAt: now.minus({ minutes: minutesAgo }), talkSeconds: 60, source: 'memory' } });
const caller = normalizeNumber('+12025550100');

const cases: { name: string; did?: string; caller?: string; lookup: LookupOutcome; state?: AgentState; action: string; reason: string; agent?: string; ring?: number; fb?: string }[] = [
  { name: 'recent agent online → ring them', lookup: hit(10), state: 'online', action: 'ring', reason: 'sticky_agent', agent: '1002', ring: 20_000, fb: 'ivr/s' },
  { name: 'agent state unknown → still ring (Dial reports failures)', lookup: hit(10), state: 'unknown', action: 'ring', reason: 'sticky_agent', agent: '1002' },
  { name: 'no history', lookup: { kind: 'miss' }, action: 'fallback', reason: 'no_history', fb: 'ivr/s' },
  { name: 'anonymous caller skips the lookup', caller: 'anonymous', lookup: { kind: 'skipped' }, action: 'fallback', reason: 'invalid_caller' },
  { name: 'unparseable caller', caller: "' OR 1=1 --", lookup: { kind: 'skipped' }, action: 'fallback', reason: 'invalid_caller' },
  { name: 'lookup failed', lookup: { kind: 'failed', error: 'timeout' }, action: 'fallback', reason: 'lookup_failed' },
  { name: 'agent offline → not rung', lookup: hit(3), state: 'offline', action: 'fallback', reason: 'agent_offline', agent: '1002' },
  { name: 'agent busy → fallback', lookup: hit(3), state: 'busy', action: 'fallback', reason: 'agent_busy', agent: '1002' },
  { name: 'window edge: exactly 30 min ago still sticks', lookup: hit(30), state: 'online', action: 'ring', reason: 'sticky_agent' },
  { name: 'window edge: 30 min + 1 s is history', lookup: { kind: 'hit', hit: { agent: '1002', endedAt: now.minus({ minutes: 30, seconds: 1 }), talkSeconds: 5, source: 'elasticsearch' } }, state: 'online', action: 'fallback', reason: 'no_history' },
  { name: 'DID 200: 5 min window excludes 10 min ago', did: '200', lookup: hit(10), state: 'online', action: 'fallback', reason: 'no_history', fb: 'sales/start' },
  { name: 'DID 200: own ring timeout and fallback', did: '200', lookup: hit(4), state: 'online', action: 'ring', reason: 'sticky_agent', ring: 10_000, fb: 'sales/start' },
  { name: 'DID 300 disabled', did: '300', lookup: hit(1), state: 'online', action: 'fallback', reason: 'disabled' },
  { name: 'DID 400 waits for a busy agent', did: '400', lookup: hit(1), state: 'busy', action: 'wait_for_agent', reason: 'agent_busy', agent: '1002' },
  { name: 'unknown DID uses the defaults', did: '555', lookup: hit(29), state: 'online', action: 'ring', reason: 'sticky_agent', ring: 20_000, fb: 'ivr/s' },
];

for (const c of cases) {
  test(`decideRoute: ${c.name}`, () => {
    const d = decideRoute({ caller: c.caller !== undefined ? normalizeNumber(c.caller) : caller, policy: policies.for(c.did), lookup: c.lookup, agentState: c.state ?? 'online', now });
    assert.equal(d.action, c.action);
    assert.equal(d.reason, c.reason);
    if (c.agent) assert.equal('agent' in d ? d.agent : undefined, c.agent);
    if (c.ring) assert.equal(d.action === 'ring' ? d.ringTimeoutMs : undefined, c.ring);
    if (c.fb) assert.equal(`${d.fallback.context}/${d.fallback.extension}`, c.fb);
  });
}

test('dialplan targets carry the decision in one extension', () => {
  const ring = decideRoute({ caller, policy: policies.for('200'), lookup: hit(1), agentState: 'online', now });
  assert.deepEqual(dialplanTarget(ring), { context: 'sticky-ring', extension: '1002~10~sales~start', priority: 1 });
  const fb = decideRoute({ caller, policy: policies.for(undefined), lookup: { kind: 'miss' }, agentState: 'online', now });
  assert.deepEqual(dialplanTarget(fb), { context: 'sticky-fallback', extension: 'no_history~ivr~s', priority: 1 });
});

test('routes file errors name the field', () => {
  assert.throws(() => DidPolicies.fromConfig(env, { dids: { '100': { window: 'half an hour' } } }), /ROUTES_FILE: dids\.100\.window: expected an ISO-8601 duration/);
  assert.throws(() => DidPolicies.fromConfig(env, { dids: { abc: {} } }), /a DID of digits/);
  assert.throws(() => DidPolicies.fromConfig(env, { dids: { '100': { fallback: { context: 'ivr,1', extension: 's' } } } }), /fallback\.context/);
});

test('normalizeNumber: one customer, many spellings; junk is not a number', () => {
  assert.equal(normalizeNumber('+380961234567').e164, '+380961234567');
  assert.equal(normalizeNumber('380961234567', 'UA').e164, '+380961234567');
  assert.equal(normalizeNumber('12025550100', 'UA').e164, '+12025550100', 'international without + from a carrier');
  assert.equal(normalizeNumber('00380961234567').e164, '+380961234567');
  assert.equal(normalizeNumber('2025550100').e164, undefined, 'national without DEFAULT_COUNTRY is ambiguous, not +20…');
  assert.equal(normalizeNumber('0961234567', 'UA').e164, '+380961234567');
  assert.equal(normalizeNumber('2025550100', 'US').e164, '+12025550100');
  assert.equal(normalizeNumber('+1 (202) 555-0100').e164, '+12025550100');
  for (const junk of ['', 'anonymous', 'Restricted', '*', 'OR 1=1', '+15551234', 'a'.repeat(200), '12\r\nAction: Originate', '"quoted"', 'cdr:*', '{"regexp":".*"}', '☎️12025550100']) {
    assert.equal(normalizeNumber(junk, 'US').e164, undefined, junk);
  }
  assert.ok(normalizeNumber('x'.repeat(500)).raw.length <= 64);
});
