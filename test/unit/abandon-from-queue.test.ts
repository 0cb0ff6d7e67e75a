// QueueCallerAbandon as Asterisk 22 sends it → AbandonEvent → record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { abandonFromQueueEvent } from '../../src/abandon/from-queue.js';
import { AbandonRecord } from '../../src/abandon/record.js';
import type { AmiEvent } from '../../src/ami/connection.js';

const now = DateTime.fromISO('2026-11-21T12:00:03.400Z', { zone: 'utc' });
// Field set of a real Asterisk 22 QueueCallerAbandon (channel snapshot + queue fields).
const event: AmiEvent = {
  Event: 'QueueCallerAbandon',
  Privilege: 'agent,all',
  Channel: 'PJSIP/trunk-00000003',
  ChannelState: '6',
  ChannelStateDesc: 'Up',
  CallerIDNum: '0961234567',
  CallerIDName: 'Olena',
  ConnectedLineNum: '<unknown>',
  ConnectedLineName: '<unknown>',
  Language: 'en',
  AccountCode: '',
  Context: 'ivr',
  Exten: 's',
  Priority: '3',
  Uniqueid: '1763726400.17',
  Linkedid: '1763726400.17',
  Queue: 'support',
  Position: '1',
  OriginalPosition: '2',
  HoldTime: '3',
};

test('fields map to the abandon event; HoldTime is seconds', () => {
  const e = abandonFromQueueEvent(event, { region: 'UA', now, did: '5551000', stickyAgent: '1002' });
  assert.deepEqual(e, {
    source: 'queue',
    at: '2026-11-21T12:00:03.400Z',
    caller: { raw: '0961234567', e164: '+380961234567' },
    waitedMs: 3000,
    uniqueid: '1763726400.17',
    queue: 'support',
    position: 1,
    originalPosition: 2,
    linkedid: '1763726400.17',
    did: '5551000',
    agent: '1002',
  });
  const r = AbandonRecord.fromEvent(e);
  assert.equal(r.waited_seconds, 3);
  assert.equal(r.position, 1);
  assert.equal(r.original_position, 2);
  assert.equal(r.sticky_agent, '1002');
});

test('without a region a national number stays raw only', () => {
  const e = abandonFromQueueEvent(event, { now });
  assert.deepEqual(e.caller, { raw: '0961234567' });
  assert.equal(e.did, undefined);
  assert.equal(e.agent, undefined);
});

test('no caller ID (<unknown>) becomes an empty raw number', () => {
  const e = abandonFromQueueEvent({ ...event, CallerIDNum: '<unknown>' }, { now });
  assert.deepEqual(e.caller, { raw: '' });
});

test('a missing or malformed HoldTime falls back to the QueueCallerJoin time', () => {
  const joinedAt = now.minus({ milliseconds: 4200 });
  assert.equal(abandonFromQueueEvent({ ...event, HoldTime: undefined }, { now, joinedAt }).waitedMs, 4200);
  assert.equal(abandonFromQueueEvent({ ...event, HoldTime: 'x' }, { now }).waitedMs, 0);
  const e = abandonFromQueueEvent({ ...event, Position: '', OriginalPosition: 'n/a' }, { now });
  assert.equal(e.position, undefined);
  assert.equal(e.originalPosition, undefined);
});

test('control characters in the caller ID are removed', () => {
  const e = abandonFromQueueEvent({ ...event, CallerIDNum: '+380961234567\r\nAction: Originate' }, { now });
  assert.doesNotMatch(e.caller.raw, /[\r\n]/);
});

test('other events and events without Uniqueid are refused', () => {
  assert.throws(() => abandonFromQueueEvent({ ...event, Event: 'QueueCallerLeave' }, { now }), /not a QueueCallerAbandon/);
  assert.throws(() => abandonFromQueueEvent({ ...event, Uniqueid: undefined }, { now }), /without Uniqueid/);
});
