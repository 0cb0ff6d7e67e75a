// Frames the router lets through to ari-client: Asterisk's real events pass; anything
// the library would turn into a phantom call (a StasisStart without a channel) does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameProblem } from '../../src/ari/guarded-socket.js';

const known = new Set(['StasisStart', 'StasisEnd', 'ChannelDestroyed', 'ChannelStateChange', 'DeviceStateChanged', 'BridgeCreated']);
const channel = { id: '1764590000.42', name: 'PJSIP/trunk-00000001', state: 'Ring', caller: { name: '', number: '+12025550100' } };

test('real events pass', () => {
  assert.equal(frameProblem(JSON.stringify({ type: 'StasisStart', application: 'sticky-router', args: [], channel }), known), undefined);
  assert.equal(frameProblem(JSON.stringify({ type: 'StasisEnd', application: 'sticky-router', channel }), known), undefined);
  assert.equal(frameProblem(JSON.stringify({ type: 'DeviceStateChanged', application: 'sticky-router', device_state: { name: 'PJSIP/1002', state: 'NOT_INUSE' } }), known), undefined);
  assert.equal(frameProblem(JSON.stringify({ type: 'BridgeCreated', application: 'sticky-router', bridge: { id: 'b1', technology: 'simple_bridge' } }), known), undefined);
});

test('malformed frames are refused, each with its reason', () => {
  const cases: [string, RegExp][] = [
    ['not json', /not JSON/],
    ['[]', /not an object/],
    ['{}', /no event type/],
    ['{"type":"NoSuchEventType"}', /unknown event type/],
    ['{"type":"StasisStart","channel":"not-an-object","args":[]}', /StasisStart without a channel object/],
    ['{"type":"StasisStart","args":[]}', /StasisStart without a channel object/],
    ['{"type":"StasisEnd","channel":null}', /StasisEnd without a channel object/],
    ['{"type":"ChannelDestroyed","channel":{"id":42}}', /ChannelDestroyed without a channel object/],
    ['{"type":"ChannelStateChange","channel":{"id":""}}', /without a channel object/],
    ['{"type":"DeviceStateChanged","channel":[]}', /DeviceStateChanged without a channel object/],
    ['{"type":"BridgeCreated","bridge":"b1"}', /bridge that is not an object/],
  ];
  for (const [frame, why] of cases) assert.match(frameProblem(frame, known) ?? 'passed', why, frame);
});
