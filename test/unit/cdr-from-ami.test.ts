import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cdrFromAmiEvent, type CdrFromAmiOptions } from '../../src/cdr/from-ami.js';
import { agentOutbound, internalCall, queueAnsweredBy1002, queueNotAnsweredBy1001, unanswered } from '../support/fixtures/cdrs.js';

const opts: CdrFromAmiOptions = { agentChannelPattern: /^PJSIP\/(\d+)-[0-9a-f]+$/, minTalkSeconds: () => 10 };

test('queue call answered by 1002: inbound, customer from Source, agent from DestinationChannel, talked', () => {
  const d = cdrFromAmiEvent(queueAnsweredBy1002, opts);
  assert.ok(d);
  assert.equal(d.direction, 'inbound');
  assert.equal(d.customer_e164, '+12025550100');
  assert.equal(d.customer_raw, '+12025550100');
  assert.equal(d.agent, '1002');
  assert.equal(d.talk_seconds, 120);
  assert.equal(d.talked, true);
  assert.equal(d['@timestamp'], '2025-06-01T10:02:07.000Z');
  assert.match(d.id, /^[0-9a-f]{32}$/);
  assert.deepEqual(d.asterisk, {
    src: '+12025550100', dst: 's', dcontext: 'ivr', clid: '"+12025550100" <+12025550100>',
    channel: 'PJSIP/trunk-00000004', dstchannel: 'PJSIP/1002-00000006', lastapp: 'Queue', lastdata: 'support,t,,,600',
    start: '2025-06-01T10:00:00.000Z', answer: '2025-06-01T10:00:07.000Z', end: '2025-06-01T10:02:07.000Z',
    duration: 127, billsec: 120, disposition: 'ANSWERED', amaflags: 'DOCUMENTATION', accountcode: '',
    uniqueid: '1748772000.8', userfield: '',
  });
  assert.equal(d.sticky_reason, undefined);
  assert.equal(d.did, undefined);
});

test('the ringall sibling record (1001, NO ANSWER) gets its own id and does not teach', () => {
  const a = cdrFromAmiEvent(queueAnsweredBy1002, opts);
  const b = cdrFromAmiEvent(queueNotAnsweredBy1001, opts);
  assert.ok(a && b);
  assert.notEqual(a.id, b.id);
  assert.equal(b.agent, '1001');
  assert.equal(b.talked, false);
  assert.equal(b.asterisk.answer, undefined);
});

test('the id is deterministic: a resent event maps to the same id; LinkedID takes part when present', () => {
  assert.equal(cdrFromAmiEvent(queueAnsweredBy1002, opts)?.id, cdrFromAmiEvent({ ...queueAnsweredBy1002 }, opts)?.id);
  assert.notEqual(cdrFromAmiEvent(queueAnsweredBy1002, opts)?.id, cdrFromAmiEvent({ ...queueAnsweredBy1002, LinkedID: '1748772000.7' }, opts)?.id);
  // Only the identity counts: a different EndTime (a resend is byte-identical anyway) keeps the id.
  assert.equal(cdrFromAmiEvent(queueAnsweredBy1002, opts)?.id, cdrFromAmiEvent({ ...queueAnsweredBy1002, EndTime: '2025-06-01 10:02:08' }, opts)?.id);
});

test("agent's outbound call: customer is the dialled Destination, normalised with the region", () => {
  const d = cdrFromAmiEvent(agentOutbound, { ...opts, region: 'US' });
  assert.ok(d);
  assert.equal(d.direction, 'outbound');
  assert.equal(d.agent, '1002');
  assert.equal(d.customer_raw, '2025550100');
  assert.equal(d.customer_e164, '+12025550100');
  assert.equal(d.talked, true);
  assert.equal(d.asterisk.linkedid, '1748775600.12');
  // Without a region a national number has no E.164 (the raw number is kept).
  const noRegion = cdrFromAmiEvent(agentOutbound, opts);
  assert.equal(noRegion?.customer_raw, '2025550100');
});

test('internal call: no customer; the calling agent is recorded', () => {
  const d = cdrFromAmiEvent(internalCall, opts);
  assert.ok(d);
  assert.equal(d.direction, 'internal');
  assert.equal(d.agent, '1001');
  assert.equal(d.customer_e164, undefined);
  assert.equal(d.customer_raw, undefined);
});

test('unanswered sticky ring: not talked, no answer time, billsec 0', () => {
  const d = cdrFromAmiEvent(unanswered, opts);
  assert.ok(d);
  assert.equal(d.direction, 'inbound');
  assert.equal(d.agent, '1002');
  assert.equal(d.talked, false);
  assert.equal(d.talk_seconds, 0);
  assert.equal(d.asterisk.answer, undefined);
  assert.equal(d.asterisk.disposition, 'NO ANSWER');
});

test('trunk to nobody (IVR answered, caller left the queue): inbound, no agent, never talked', () => {
  const d = cdrFromAmiEvent({ ...queueAnsweredBy1002, DestinationChannel: '', LastApplication: 'Queue' }, opts);
  assert.ok(d);
  assert.equal(d.direction, 'inbound');
  assert.equal(d.agent, undefined);
  assert.equal(d.talked, false, 'ANSWERED by Answer() in the IVR is not a conversation with an agent');
});

test('minTalkSeconds per DID and the router annotation (did, reason)', () => {
  const seen: [string, string | undefined][] = [];
  const annotated: CdrFromAmiOptions = {
    ...opts,
    minTalkSeconds: (did) => (did === '5551000' ? 180 : 10),
    annotate: (uniqueid, linkedid) => {
      seen.push([uniqueid, linkedid]);
      return { did: '5551000', reason: 'sticky_agent' };
    },
  };
  const d = cdrFromAmiEvent(queueAnsweredBy1002, annotated);
  assert.deepEqual(seen, [['1748772000.8', undefined]]);
  assert.equal(d?.did, '5551000');
  assert.equal(d?.sticky_reason, 'sticky_agent');
  assert.equal(d?.talked, false, '120 s < 180 s for this DID');
  assert.equal(cdrFromAmiEvent(queueAnsweredBy1002, { ...annotated, annotate: () => undefined })?.talked, true);
});

test("times are read in the PBX's zone and stored in UTC", () => {
  const d = cdrFromAmiEvent(queueAnsweredBy1002, { ...opts, timeZone: 'Europe/Kyiv' });
  assert.equal(d?.['@timestamp'], '2025-06-01T07:02:07.000Z');
  assert.equal(d?.asterisk.start, '2025-06-01T07:00:00.000Z');
});

test('anonymous caller: raw kept, no E.164', () => {
  const d = cdrFromAmiEvent({ ...queueAnsweredBy1002, Source: 'anonymous' }, opts);
  assert.equal(d?.customer_raw, 'anonymous');
  assert.equal(d?.customer_e164, undefined);
});

test('key case varies between Asterisk versions', () => {
  const { UniqueID, ...rest } = queueAnsweredBy1002;
  const d = cdrFromAmiEvent({ ...rest, Uniqueid: UniqueID, Linkedid: '1748772000.8' }, opts);
  assert.equal(d?.asterisk.uniqueid, '1748772000.8');
  assert.equal(d?.asterisk.linkedid, '1748772000.8');
});

test('not a usable Cdr: other events, no UniqueID, bad EndTime', () => {
  assert.equal(cdrFromAmiEvent({ Event: 'Hangup', Channel: 'PJSIP/1002-00000006' }, opts), undefined);
  assert.equal(cdrFromAmiEvent({ ...queueAnsweredBy1002, UniqueID: '' }, opts), undefined);
  assert.equal(cdrFromAmiEvent({ ...queueAnsweredBy1002, EndTime: 'yesterday' }, opts), undefined);
});

test('a custom agent pattern (e.g. Local channels of a queue member)', () => {
  const d = cdrFromAmiEvent(
    { ...queueAnsweredBy1002, DestinationChannel: 'Local/1002@agents-00000001;1' },
    { ...opts, agentChannelPattern: /^(?:PJSIP\/(\d+)-[0-9a-f]+|Local\/(\d+)@agents-[0-9a-f]+;1)$/ },
  );
  // Only group 1 is read: a pattern with alternatives must capture into group 1.
  assert.equal(d?.agent, undefined);
  const d2 = cdrFromAmiEvent(
    { ...queueAnsweredBy1002, DestinationChannel: 'Local/1002@agents-00000001;1' },
    { ...opts, agentChannelPattern: /^(?:PJSIP|Local)\/(\d+)(?:-[0-9a-f]+|@agents-[0-9a-f]+;1)$/ },
  );
  assert.equal(d2?.agent, '1002');
});

test('queue calls: the agent talk time from AgentComplete replaces billsec, which includes the hold', async () => {
  const { QueueTalkTimes } = await import('../../src/cdr/queue-talk-times.js');
  const times = new QueueTalkTimes();
  times.onAmiEvent({ Event: 'AgentComplete', Uniqueid: '1700000000.1', DestChannel: 'PJSIP/1002-00000002', HoldTime: '4', TalkTime: '0' });
  const e = { Event: 'Cdr', UniqueID: '1700000000.1', Channel: 'PJSIP/trunk-00000001', DestinationChannel: 'PJSIP/1002-00000002', Source: '+12025550100', Destination: 's', Disposition: 'ANSWERED', BillableSeconds: '5', Duration: '5', StartTime: '2026-11-21 10:00:00', AnswerTime: '2026-11-21 10:00:00', EndTime: '2026-11-21 10:00:05', LastApplication: 'Queue' };
  const doc = cdrFromAmiEvent(e, { minTalkSeconds: () => 1, connectedSeconds: (u, d) => times.take(u, d) });
  assert.equal(doc?.talk_seconds, 0);
  assert.equal(doc?.talked, false);
  assert.equal(doc?.asterisk.billsec, 5, 'the raw billsec is kept');
  // Consumed once; a call without AgentComplete keeps billsec.
  assert.equal(cdrFromAmiEvent(e, { minTalkSeconds: () => 1, connectedSeconds: (u, d) => times.take(u, d) })?.talk_seconds, 5);
});

test('forged Cdr events (caller-ID CR/LF injection) are recognised', async () => {
  const { forgedCdr } = await import('../../src/cdr/from-ami.js');
  const genuine = { Event: 'Cdr', Privilege: 'cdr,all', Source: '+12025550100', CallerID: '"" <+12025550100>', Destination: 's', UniqueID: '1.1', EndTime: '2026-11-21 10:00:05', LinkedID: '1.1' };
  assert.equal(forgedCdr(genuine), undefined);
  assert.equal(forgedCdr({ ...genuine, CallerID: '+12025550100' }), undefined, 'a bare number');
  assert.equal(forgedCdr({ ...genuine, CallerID: '', Source: '' }), undefined, 'anonymous');
  // "anonymous\r\nSource: +12025550177\r\nX: " in the caller number: Source overwritten, CallerID cut.
  assert.match(forgedCdr({ ...genuine, Source: '+12025550177', CallerID: '"" <anonymous', X: '>' }) ?? '', /unexpected fields X/);
  assert.match(forgedCdr({ ...genuine, Source: '+12025550177', CallerID: '"" <anonymous', UserField: '>' }) ?? '', /CallerID cut short/);
  // What Asterisk itself does: truncate long numbers, rewrite withheld ones.
  assert.equal(forgedCdr({ ...genuine, Source: '1'.repeat(80), CallerID: `"" <${'1'.repeat(75)}` }), undefined);
  assert.equal(forgedCdr({ ...genuine, Source: '+12025550199', CallerID: '"Anonymous" <anonymous>' }), undefined);
  // An "Event: Cdr" smuggled into another event keeps that event's keys.
  assert.match(forgedCdr({ ...genuine, Privilege: 'call,all', ChannelState: '4', Exten: '100' }) ?? '', /unexpected fields ChannelState, Exten/);
});

test('an outbound call the customer did not answer is an attempt (not talked); an answered one is not', () => {
  const missed = cdrFromAmiEvent({ ...agentOutbound, AnswerTime: '', BillableSeconds: '0', Disposition: 'NO ANSWER' }, { ...opts, region: 'US' });
  assert.equal(missed?.direction, 'outbound');
  assert.equal(missed?.talked, false);
  assert.equal(missed?.attempt, true);
  assert.equal(missed?.agent, '1002');
  assert.equal(cdrFromAmiEvent(agentOutbound, { ...opts, region: 'US' })?.attempt, undefined);
  // Inbound calls nobody answered are not attempts.
  assert.equal(cdrFromAmiEvent(queueNotAnsweredBy1001, opts)?.attempt, undefined);
});

test('queue members: the member app_queue named is the agent; a Local member leg is the outer CDR, its ;2 leg is internal', () => {
  const outer = { ...queueAnsweredBy1002, DestinationChannel: 'Local/1002@from-queue-0000000a;1' };
  const d = cdrFromAmiEvent(outer, { minTalkSeconds: () => 1 });
  assert.equal(d?.agent, '1002', 'the default pattern reads Local/<ext>@…;1');
  const hotDesk = cdrFromAmiEvent(queueAnsweredBy1002, { minTalkSeconds: () => 1, queueMember: (u, dst) => (u === queueAnsweredBy1002.UniqueID && dst === queueAnsweredBy1002.DestinationChannel ? 'alice' : undefined) });
  assert.equal(hotDesk?.agent, 'alice', 'the member (MemberName), not the phone she sat at');
  const inner = cdrFromAmiEvent({ ...queueAnsweredBy1002, Channel: 'Local/1002@from-queue-0000000a;2', DestinationChannel: 'PJSIP/1002-0000000c' }, { minTalkSeconds: () => 1 });
  assert.equal(inner?.direction, 'internal', 'the inner leg repeats the outer conversation: not a second one');
  assert.equal(inner?.customer_e164, undefined);
});
