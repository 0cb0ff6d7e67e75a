// CDR times on a PBX in local time (issue 11): epoch fields, PBX_TIMEZONE, and the
// offset derived per event, across DST both ways and in the hour that repeats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime, IANAZone } from 'luxon';
import { instantInZone, isoUtc, pbxTimes, wallMs } from '../../src/cdr/pbx-time.js';
import { cdrFromAmiEvent } from '../../src/cdr/from-ami.js';
import { queueAnsweredBy1002 } from '../support/fixtures/cdrs.js';

const iso = (t: DateTime | undefined) => t?.toUTC().toISO();
const epochOf = (isoUtc: string) => (DateTime.fromISO(isoUtc, { zone: 'utc' }).toMillis() / 1000).toFixed(6);
/** The wall clock Asterisk would print for `isoUtc` on a PBX in `zone`. */
const wall = (isoUtc: string, zone: string) => DateTime.fromISO(isoUtc, { zone: 'utc' }).setZone(zone).toFormat('yyyy-MM-dd HH:mm:ss');

test('epoch fields win: exact instants and the offset, whatever the wall clock says', () => {
  const t = pbxTimes({ startTime: '2026-11-01 01:20:00', answerTime: '', endTime: '2026-11-01 01:30:00', startEpoch: epochOf('2026-11-01T05:20:00Z'), answerEpoch: '0.000000', endEpoch: epochOf('2026-11-01T05:30:00Z') });
  assert.ok(t);
  assert.equal(t.source, 'epoch');
  assert.equal(iso(t.end), '2026-11-01T05:30:00.000Z');
  assert.equal(iso(t.start), '2026-11-01T05:20:00.000Z');
  assert.equal(t.answer, undefined, 'AnswerEpoch 0 is an unanswered call');
  assert.equal(t.offsetMinutes, -240);
});

for (const [name, endUtc] of [['first pass (EDT, UTC-4)', '2026-11-01T05:30:00Z'], ['second pass (EST, UTC-5)', '2026-11-01T06:30:00Z']] as const) {
  test(`America/New_York, DST ends: 01:30 local happens twice; the ${name} is told apart`, () => {
    const endTime = wall(endUtc, 'America/New_York');
    assert.equal(endTime, '2026-11-01 01:30:00', 'the same wall clock both times');
    const posted = DateTime.fromISO(endUtc, { zone: 'utc' }).plus({ seconds: 2 });
    // No setting: the offset comes from AMI's Timestamp…
    const byTimestamp = pbxTimes({ endTime, timestamp: (posted.toMillis() / 1000).toFixed(6) });
    assert.equal(byTimestamp?.source, 'derived_offset');
    assert.equal(iso(byTimestamp?.end), DateTime.fromISO(endUtc).toUTC().toISO());
    // …or from the moment the router received the event.
    assert.equal(iso(pbxTimes({ endTime }, { receivedAt: posted })?.end), DateTime.fromISO(endUtc).toUTC().toISO());
    // (as epoch ms, what CdrIngest passes, the same)
    assert.equal(pbxTimes({ endTime }, { receivedAt: posted.toMillis() })?.endMs, DateTime.fromISO(endUtc).toMillis());
    // PBX_TIMEZONE alone cannot tell; the reference time does.
    const byZone = pbxTimes({ endTime }, { zone: 'America/New_York', receivedAt: posted });
    assert.equal(byZone?.source, 'zone');
    assert.equal(iso(byZone?.end), DateTime.fromISO(endUtc).toUTC().toISO());
    // The exact way: epoch fields.
    assert.equal(iso(pbxTimes({ endTime, endEpoch: epochOf(endUtc) })?.end), DateTime.fromISO(endUtc).toUTC().toISO());
  });
}

test('America/New_York, DST starts: a call from 01:50 EST to 03:10 EDT keeps its 20 minutes', () => {
  const startUtc = '2026-03-08T06:50:00Z';
  const endUtc = '2026-03-08T07:10:00Z';
  const input = { startTime: wall(startUtc, 'America/New_York'), answerTime: wall('2026-03-08T06:51:00Z', 'America/New_York'), endTime: wall(endUtc, 'America/New_York'), durationSeconds: 1200, billableSeconds: 1140 };
  assert.equal(input.startTime, '2026-03-08 01:50:00');
  assert.equal(input.endTime, '2026-03-08 03:10:00');
  const posted = DateTime.fromISO(endUtc, { zone: 'utc' }).plus({ seconds: 1 });
  for (const t of [pbxTimes({ ...input, timestamp: String(posted.toMillis() / 1000) }), pbxTimes(input, { zone: 'America/New_York', receivedAt: posted })]) {
    assert.equal(iso(t?.end), '2026-03-08T07:10:00.000Z', `${t?.source}: end`);
    assert.equal(iso(t?.start), '2026-03-08T06:50:00.000Z', `${t?.source}: start, across the change`);
    assert.equal(iso(t?.answer), '2026-03-08T06:51:00.000Z', `${t?.source}: answer`);
    assert.equal(t?.offsetMinutes, -240);
  }
});

test('a wall clock in the skipped hour (02:30 on 8 March in New York) is read with the offset from before the gap', () => {
  const zone = IANAZone.create('America/New_York');
  const w = DateTime.fromISO('2026-03-08T02:30:00', { zone: 'utc' }).toMillis();
  assert.equal(DateTime.fromMillis(instantInZone(w, zone), { zone: 'utc' }).toISO(), '2026-03-08T07:30:00.000Z');
});

test('Europe/Kyiv (east of UTC), DST ends 25 Oct 2026: 03:30 local twice, EEST then EET', () => {
  for (const endUtc of ['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']) {
    const endTime = wall(endUtc, 'Europe/Kyiv');
    assert.equal(endTime, '2026-10-25 03:30:00');
    const receivedAt = DateTime.fromISO(endUtc).plus({ seconds: 3 });
    assert.equal(iso(pbxTimes({ endTime }, { receivedAt })?.end), endUtc);
    assert.equal(iso(pbxTimes({ endTime }, { zone: 'Europe/Kyiv', receivedAt })?.end), endUtc);
  }
  // Summer: +03:00.
  const summer = pbxTimes({ endTime: '2026-07-01 12:00:00' }, { receivedAt: DateTime.fromISO('2026-07-01T09:00:04Z') });
  assert.equal(summer?.offsetMinutes, 180);
  assert.equal(iso(summer?.end), '2026-07-01T09:00:00.000Z');
});

test('half- and quarter-hour zones: Asia/Kolkata (+05:30), Asia/Kathmandu (+05:45)', () => {
  for (const [zone, minutes] of [['Asia/Kolkata', 330], ['Asia/Kathmandu', 345]] as const) {
    const endUtc = '2026-12-01T10:00:00.000Z';
    const t = pbxTimes({ endTime: wall(endUtc, zone), startTime: wall('2026-12-01T09:58:00Z', zone) }, { receivedAt: DateTime.fromISO(endUtc).plus({ seconds: 5 }) });
    assert.equal(t?.offsetMinutes, minutes, zone);
    assert.equal(iso(t?.end), endUtc, zone);
    assert.equal(iso(t?.start), '2026-12-01T09:58:00.000Z', zone);
  }
});

test('a CDR posted late (a few minutes) still rounds to the right offset; no reference at all reads UTC', () => {
  const t = pbxTimes({ endTime: '2026-12-01 05:00:00' }, { receivedAt: DateTime.fromISO('2026-12-01T10:06:00Z') });
  assert.equal(t?.offsetMinutes, -300);
  assert.equal(pbxTimes({ endTime: '2026-12-01 05:00:00' })?.source, 'utc');
  assert.equal(pbxTimes({ endTime: '' }), undefined);
  assert.equal(pbxTimes({ endTime: 'garbage' }), undefined);
  assert.throws(() => pbxTimes({ endTime: '2026-12-01 05:00:00' }, { zone: 'Mars/Olympus' }), /IANA/);
});

test('cdrFromAmiEvent: a New York PBX with epoch fields gives UTC @timestamp; without them the Timestamp is used', () => {
  const e = { ...queueAnsweredBy1002, StartTime: '2025-06-01 06:00:00', AnswerTime: '2025-06-01 06:00:07', EndTime: '2025-06-01 06:02:07' };
  const withEpoch = cdrFromAmiEvent({ ...e, StartEpoch: epochOf('2025-06-01T10:00:00Z'), AnswerEpoch: epochOf('2025-06-01T10:00:07Z'), EndEpoch: epochOf('2025-06-01T10:02:07Z') }, { minTalkSeconds: () => 1 });
  assert.equal(withEpoch?.['@timestamp'], '2025-06-01T10:02:07.000Z');
  assert.equal(withEpoch?.asterisk.start, '2025-06-01T10:00:00.000Z');
  assert.equal(withEpoch?.asterisk.answer, '2025-06-01T10:00:07.000Z');
  const withTimestamp = cdrFromAmiEvent({ ...e, Timestamp: epochOf('2025-06-01T10:02:08Z') }, { minTalkSeconds: () => 1 });
  assert.equal(withTimestamp?.['@timestamp'], '2025-06-01T10:02:07.000Z');
  assert.equal(withTimestamp?.asterisk.start, '2025-06-01T10:00:00.000Z');
});

test('wallMs reads exactly what luxon fromFormat reads (shape, calendar, 24:00:00), and isoUtc writes what toISO writes', () => {
  const luxon = (raw: string) => {
    try {
      const t = DateTime.fromFormat(raw, 'yyyy-MM-dd HH:mm:ss', { zone: 'utc' });
      return t.isValid ? t.toMillis() : undefined;
    } catch {
      return undefined;
    }
  };
  const cases = [
    '2025-06-01 10:00:07', '2024-02-29 23:59:59', '2025-02-29 10:00:00', '2100-02-29 00:00:00', '2000-02-29 00:00:00',
    '2025-04-31 10:00:00', '2025-12-31 24:00:00', '2025-06-01 24:00:01', '2025-06-01 24:01:00', '2025-06-01 25:00:00',
    '2025-06-01 23:60:00', '2025-06-01 23:59:60', '2025-13-01 10:00:00', '2025-00-01 10:00:00', '2025-06-00 10:00:00',
    '0000-01-01 00:00:00', '0025-06-01 10:00:00', '9999-12-31 23:59:59', '2025-06-01 10:00:07 ', ' 2025-06-01 10:00:07',
    '2025-6-1 10:00:07', '2025-06-01T10:00:07', '2025-06-01  10:00:07', '2025-06-01 10:00', '', 'garbage', '١٢٣٤-06-01 10:00:07',
  ];
  let seed = 11;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const two = (n: number) => String(n).padStart(2, '0');
  for (let i = 0; i < 3000; i++) {
    cases.push(`${String(1990 + rnd(120)).padStart(4, '0')}-${two(rnd(14))}-${two(rnd(33))} ${two(rnd(26))}:${two(rnd(61))}:${two(rnd(61))}`);
  }
  for (const raw of cases) assert.equal(wallMs(raw), luxon(raw), JSON.stringify(raw));
  for (const ms of [0, 1748772007123, -62167219200000, 253402300799999, 253402300800000, -62167219200001]) {
    const t = DateTime.fromMillis(ms, { zone: 'utc' });
    assert.equal(isoUtc(t), t.toUTC().toISO(), String(ms));
    assert.equal(isoUtc(t.setZone('America/New_York')), t.toUTC().toISO(), `${ms} in New York`);
  }
});
