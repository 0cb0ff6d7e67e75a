// Voice quality from the [sticky-qos] CDR variables. The inputs are the values a
// real Asterisk 22 wrote in the harness (caller replaying a pcap with every 10th
// RTP packet left out, agent a clean one; sipp sends no RTCP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callQuality, legQuality, parseQosVar } from '../../src/cdr/quality.js';
import { cdrFromAmiEvent, forgedCdr } from '../../src/cdr/from-ami.js';

const lossyCaller =
  'rxcount=540&rxploss=59&txjitter=0.000125&local_maxjitter=0.012125&txmes=55.309189&local_normdevmes=47.913823&local_minmes=44.216140&txcount=716&txploss=0&rxjitter=0.000000&rxmes=0.000000&rtt=0.000000&codec=(ulaw)&cause=16&hangupsource=PJSIP/trunk-00000000&t0=1796123281.821&answer=1796123281.823274&end=1796123297.842&dialed=PJSIP/1002-00000001&dialedcause=SIP 200 OK';
const cleanAgent =
  'rxcount=700&rxploss=0&txjitter=0.000000&local_maxjitter=0.011875&txmes=88.087887&local_normdevmes=88.087887&local_minmes=88.087887&txcount=523&txploss=0&rxjitter=0.000000&rxmes=0.000000&rtt=0.000000&codec=(ulaw)&cause=16&hangupsource=PJSIP/trunk-00000000';

test('directions: rx is what Asterisk measured on the stream it received (rxploss, txjitter, txmes); the phone sent no RTCP, so tx has only a packet count', () => {
  const leg = legQuality(parseQosVar(lossyCaller)!)!;
  assert.deepEqual(leg.rx, { packets: 540, lost: 59, loss_pct: 9.85, jitter_ms: 0.125, jitter_max_ms: 12.125, mes: 47.9, mes_min: 44.2 });
  assert.deepEqual(leg.tx, { packets: 716 }, 'no RTCP from the phone: no made-up 0 % loss towards it');
  assert.equal(leg.rtt_ms, undefined);
  assert.equal(leg.codec, 'ulaw');
  assert.equal(leg.hangup_cause, 16);
});

test("a phone's RTCP reports fill the tx side: txploss, rxjitter, rxmes, rtt (Asterisk's swapped names)", () => {
  const leg = legQuality(parseQosVar('rxcount=1000&rxploss=0&txjitter=0.002&local_maxjitter=0.004&txmes=90&local_normdevmes=89.5&local_minmes=88&txcount=1000&txploss=30&rxjitter=0.015&rxmes=70.25&rtt=0.042&codec=alaw&cause=16')!)!;
  assert.deepEqual(leg.tx, { packets: 1000, lost: 30, loss_pct: 3, jitter_ms: 15, mes: 70.3 });
  assert.equal(leg.rx.jitter_ms, 2);
  assert.equal(leg.rx.loss_pct, 0);
  assert.equal(leg.rtt_ms, 42);
});

test('before the first RTCP interval there is no loss or MES (Asterisk computes them per report)', () => {
  const leg = legQuality(parseQosVar('rxcount=120&rxploss=0&txjitter=0.000100&local_maxjitter=0&txmes=0&local_normdevmes=0&local_minmes=0&txcount=120&txploss=0&rxjitter=0&rxmes=0&rtt=0&codec=(ulaw)&cause=16')!)!;
  assert.deepEqual(leg.rx, { packets: 120, jitter_ms: 0.1, jitter_max_ms: 0 });
});

test("the call's figures: worst leg, set-up time from INVITE to answer, who hung up, SIP cause, trunk", () => {
  const q = callQuality({ caller: lossyCaller, agent: cleanAgent, channel: 'PJSIP/trunk-00000000', dstchannel: 'PJSIP/1002-00000001' })!;
  assert.equal(q.mes, 47.9);
  assert.equal(q.loss_pct, 9.85);
  assert.equal(q.jitter_ms, 0.125);
  assert.equal(q.agent!.rx.loss_pct, 0);
  assert.equal(q.agent!.rx.mes, 88.1);
  assert.equal(q.setup_ms, 2);
  assert.equal(q.hangup_by, 'caller');
  assert.equal(q.sip_cause, 'SIP 200 OK');
  assert.equal(q.hangup_cause, 16);
  assert.equal(q.trunk, 'PJSIP/trunk');
  assert.equal(q.codec, 'ulaw');
  const byAgent = callQuality({ caller: lossyCaller.replace('hangupsource=PJSIP/trunk-00000000', 'hangupsource=PJSIP/1002-00000001'), channel: 'PJSIP/trunk-00000000', dstchannel: 'PJSIP/1002-00000001' })!;
  assert.equal(byAgent.hangup_by, 'agent');
  const bySystem = callQuality({ caller: lossyCaller.replace('hangupsource=PJSIP/trunk-00000000', 'hangupsource=dialplan/builtin'), channel: 'PJSIP/trunk-00000000', dstchannel: '' })!;
  assert.equal(bySystem.hangup_by, 'system');
});

test('garbage and absence: no variables, no quality; non-numbers are dropped, not NaN', () => {
  assert.equal(callQuality({ channel: 'PJSIP/trunk-1', dstchannel: '' }), undefined);
  assert.equal(callQuality({ caller: '', agent: 'nonsense', channel: 'PJSIP/trunk-1', dstchannel: '' }), undefined);
  const leg = legQuality(parseQosVar('rxcount=10&rxploss=abc&txjitter=&txmes=1e999&local_normdevmes=50')!)!;
  assert.equal(leg.rx.lost, 0);
  assert.equal(leg.rx.jitter_ms, undefined);
  assert.ok(JSON.stringify(leg).indexOf('null') < 0);
});

test('a Cdr event with the mapped variables becomes quality.* on the CDR document and is not taken for a forged one', () => {
  const e = {
    Event: 'Cdr', Privilege: 'cdr,all', Source: '+12025550777', Destination: 's', DestinationContext: 'ivr', CallerID: '"" <+12025550777>',
    Channel: 'PJSIP/trunk-00000000', DestinationChannel: 'PJSIP/1002-00000001', LastApplication: 'Queue', LastData: 'support', StartTime: '2026-12-01 11:08:01',
    AnswerTime: '2026-12-01 11:08:01', EndTime: '2026-12-01 11:08:17', Duration: '16', BillableSeconds: '16', Disposition: 'ANSWERED', AMAFlags: 'DOCUMENTATION',
    UniqueID: '1796123281.0', UserField: '', LinkedID: '1796123281.0', StickyQosCaller: lossyCaller, StickyQosAgent: cleanAgent,
  };
  assert.equal(forgedCdr(e), undefined);
  const doc = cdrFromAmiEvent(e, { minTalkSeconds: () => 1 })!;
  assert.equal(doc.quality?.caller?.rx.loss_pct, 9.85);
  assert.equal(doc.quality?.agent?.rx.mes, 88.1);
});
