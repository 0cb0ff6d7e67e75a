// The agent-state cache (src/ari/agent-state.ts) over a fake ARI client: seeded from
// the endpoint list, then moved by DeviceStateChanged, and a slow seed never
// overwrites a newer event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { AgentStates } from '../../src/ari/agent-state.js';
import { FakeAri, gate } from '../support/fake-ari.js';

const log = pino({ level: 'silent' });

test('agent-state sequence: seed, then registered → on a call → ringing → free → logged off', async (t) => {
  const ari = new FakeAri();
  ari.endpointList = [
    { resource: '1001', state: 'online', channel_ids: [] },
    { resource: '1002', state: 'online', channel_ids: ['c9'] },
    { resource: '1003', state: 'offline', channel_ids: [] },
  ];
  const states = new AgentStates('PJSIP', 60_000);
  t.after(() => states.detach());
  await states.attach(ari, 'sticky-router', log);
  assert.deepEqual(['1001', '1002', '1003', '1009'].map((a) => states.get(a)), ['online', 'busy', 'offline', 'unknown']);
  assert.deepEqual(ari.subscriptions, ['deviceState:PJSIP/1001', 'deviceState:PJSIP/1002', 'deviceState:PJSIP/1003']);
  const seen: string[] = [];
  for (const s of ['INUSE', 'RINGING', 'NOT_INUSE', 'UNAVAILABLE', 'UNKNOWN']) {
    ari.deviceState('1001', s);
    seen.push(states.get('1001'));
  }
  assert.deepEqual(seen, ['busy', 'busy', 'online', 'offline', 'unknown']);
  ari.emit('DeviceStateChanged', { device_state: { name: 'SIP/1001', state: 'INUSE' } });
  ari.emit('DeviceStateChanged', { device_state: { name: 'PJSIP/1001' } });
  assert.equal(states.get('1001'), 'unknown', 'other technologies and malformed events are ignored');
});

test('a re-seed that was in flight while an event arrived keeps the event\'s state', async (t) => {
  const ari = new FakeAri();
  ari.endpointList = [{ resource: '1002', state: 'online', channel_ids: [] }];
  const states = new AgentStates('PJSIP', 60_000);
  t.after(() => states.detach());
  const held = gate();
  ari.holdList = held.promise;
  const attached = states.attach(ari, 'sticky-router', log);
  await new Promise((r) => setImmediate(r));
  ari.deviceState('1002', 'INUSE'); // the agent picks up while the list is in flight
  held.open();
  await attached;
  assert.equal(states.get('1002'), 'busy', 'the older snapshot (online) does not win');
});

test('the endpoint list failing leaves agents unknown (rung; Dial() reports failures)', async (t) => {
  const ari = new FakeAri();
  ari.endpoints.listByTech = async () => {
    throw new Error('ARI 503');
  };
  const states = new AgentStates('PJSIP', 60_000);
  t.after(() => states.detach());
  await states.attach(ari, 'sticky-router', log);
  assert.equal(states.get('1002'), 'unknown');
});
