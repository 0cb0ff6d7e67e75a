// The abandon record: deterministic id, persisted shape, and the text a supervisor reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AbandonRecord, abandonId, formatWait } from '../../src/abandon/record.js';
import { notificationSubject, notificationText } from '../../src/abandon/notification.js';
import type { AbandonEvent } from '../../src/abandon/sink.js';
import { sampleRecord } from './notify-helpers.js';

const ringEvent: AbandonEvent = {
  source: 'sticky_ring',
  at: '2026-11-21T12:00:00.000Z',
  caller: { raw: '+380961234567', e164: '+380961234567' },
  did: '5551000',
  agent: '1002',
  waitedMs: 7400,
  uniqueid: '1763726400.20',
  linkedid: '1763726400.20',
};

test('the id is a hash of uniqueid and source: stable, and distinct per source', () => {
  const a = AbandonRecord.fromEvent(ringEvent);
  const b = AbandonRecord.fromEvent({ ...ringEvent, at: '2026-11-21T12:00:05.000Z' });
  assert.equal(a.id, b.id);
  assert.match(a.id, /^[0-9a-f]{32}$/);
  assert.equal(a.id, abandonId('1763726400.20', 'sticky_ring'));
  assert.notEqual(abandonId('1763726400.20', 'queue'), a.id);
});

test('the record carries every field, in UTC, and survives a JSON round trip', () => {
  const r = AbandonRecord.fromEvent({ ...ringEvent, at: '2026-11-21T14:00:00.000+02:00' });
  assert.equal(r['@timestamp'], '2026-11-21T12:00:00.000Z');
  assert.equal(r.waited_seconds, 7);
  assert.equal(r.sticky_agent, '1002');
  assert.deepEqual(JSON.parse(JSON.stringify(r)), {
    id: r.id,
    '@timestamp': '2026-11-21T12:00:00.000Z',
    source: 'sticky_ring',
    caller: { raw: '+380961234567', e164: '+380961234567' },
    did: '5551000',
    waited_seconds: 7,
    sticky_agent: '1002',
    uniqueid: '1763726400.20',
    linkedid: '1763726400.20',
    short: false,
  });
  assert.deepEqual(AbandonRecord.fromJSON(JSON.stringify(r)), r);
});

test('short: decided on the exact wait against the DID threshold; a resolution keeps the id and adds resolved_*', () => {
  assert.equal(AbandonRecord.fromEvent({ ...ringEvent, waitedMs: 4600 }, { shortAbandonMs: 5000 }).short, true);
  assert.equal(AbandonRecord.fromEvent({ ...ringEvent, waitedMs: 5000 }, { shortAbandonMs: 5000 }).short, false);
  assert.equal(AbandonRecord.fromEvent({ ...ringEvent, waitedMs: 100 }).short, false, 'no threshold: never short');
  const r = AbandonRecord.fromEvent(ringEvent);
  const done = r.withResolution({ resolved_at: '2026-11-21T12:05:00.000Z', resolved_by: '1002', resolved_how: 'callback_in' });
  assert.equal(done.id, r.id);
  assert.deepEqual(AbandonRecord.fromJSON(JSON.stringify(done)), done);
  assert.deepEqual(
    [done.resolved_at, done.resolved_by, done.resolved_how, done.toDocument().resolved_how],
    ['2026-11-21T12:05:00.000Z', '1002', 'callback_in', 'callback_in'],
  );
});

test('the journal document has the journal index columns', () => {
  const d = sampleRecord().toDocument();
  assert.equal(d.customer_e164, '+380961234567');
  assert.equal(d.customer_raw, '0961234567');
  assert.equal(d.agent, '1002');
  assert.equal(d['@timestamp'], '2026-11-21T12:00:00.000Z');
});

test('queue abandon text: who, which line and queue, how long, when, sticky agent', () => {
  const text = sampleRecord().toText();
  assert.equal(
    text,
    [
      'Missed call from +380961234567 on line 5551000, queue support, waited 34 s',
      '',
      'Caller: +380961234567 (as received: 0961234567)',
      'Line (DID): 5551000',
      'Queue: support (position 1, joined at 2)',
      'Waited: 34 s in the queue, hung up before an agent answered',
      'When: 2026-11-21T12:00:00Z (Sat 21 Nov 2026, 12:00:00 UTC)',
      'Sticky agent: 1002 (the agent they last spoke to)',
      'Call id: 1763726400.17',
    ].join('\n'),
  );
});

test('router-phase text says the agent was ringing; a zone adds local time', () => {
  const text = AbandonRecord.fromEvent(ringEvent).toText({ zone: 'Europe/Kyiv' });
  assert.match(text, /^Missed call from \+380961234567 on line 5551000, waited 7 s$/m);
  assert.match(text, /^Waited: 7 s, hung up while their agent was ringing$/m);
  assert.match(text, /^When: 2026-11-21T12:00:00Z \(Sat 21 Nov 2026, 14:00:00 .+\)$/m);
  assert.doesNotMatch(text, /Queue:/);
});

test('unknown and withheld callers, no sticky agent, long waits', () => {
  const anon = sampleRecord({ caller: { raw: '' }, sticky_agent: undefined, waited_seconds: 125 });
  assert.match(anon.toText(), /^Missed call from an unknown number \(no caller ID\)/);
  assert.match(anon.toText(), /^Sticky agent: none \(no recent conversation\)$/m);
  assert.match(anon.toText(), /waited 2 min 5 s/);
  assert.equal(anon.callerKey, undefined);
  const withheld = sampleRecord({ caller: { raw: 'anonymous' } });
  assert.match(withheld.summary(), /anonymous \(withheld number\)/);
  assert.equal(withheld.callerKey, undefined);
  assert.equal(sampleRecord({ caller: { raw: '12345' } }).callerKey, 'raw:12345');
  assert.equal(formatWait(60), '1 min');
});

test('a follow-up notification gives the count since the first call and the latest call', () => {
  const first = sampleRecord();
  const latest = sampleRecord({ uniqueid: '1763726700.30', '@timestamp': '2026-11-21T12:05:00.000Z', waited_seconds: 12 });
  const n = { id: 'abandon-x-2', groupId: first.id, seq: 2, count: 3, first, latest };
  assert.equal(notificationSubject(n), '3 missed calls from +380961234567 since 12:00 UTC');
  const text = notificationText(n);
  assert.match(text, /^3 missed calls from \+380961234567 since 12:00 UTC\nFirst missed call: 2026-11-21T12:00:00Z/);
  assert.match(text, /Latest call:\nCaller: \+380961234567/);
  assert.match(text, /Waited: 12 s in the queue/);
  assert.match(text, /When: 2026-11-21T12:05:00Z/);
});
