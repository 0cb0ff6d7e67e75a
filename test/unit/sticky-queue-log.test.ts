// The sticky ring as queue_log lines, each written when it happens (AMI events
// from a fake AMI, a clock the test moves), and short abandons in the pipeline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { AmiEvent } from '../../src/ami/connection.js';
import { StickyQueueLog } from '../../src/abandon/sticky-queue-log.js';
import { AbandonRecord } from '../../src/abandon/record.js';
import { Outbox } from '../../src/abandon/outbox.js';
import { AbandonPipeline } from '../../src/abandon/pipeline.js';
import { AbandonSink } from '../../src/abandon/sink.js';
import type { Notification } from '../../src/abandon/notification.js';
import type { Notifier } from '../../src/abandon/notifiers/types.js';
import { captureLog, tempDir, waitUntil } from './notify-helpers.js';

class FakeAmi extends EventEmitter {
  /** [clock at the action, the line Asterisk would write] */
  lines: [number, string][] = [];
  constructor(private readonly clock: () => number) {
    super();
  }
  async action(a: Record<string, unknown>): Promise<unknown> {
    this.lines.push([this.clock(), [a.Uniqueid, a.Queue, a.Interface, a.Event, a.Message].join('|')]);
    return { Response: 'Success' };
  }
}

function rig(answered = true) {
  let t = 1_000_000;
  const clock = () => t;
  const ami = new FakeAmi(clock);
  const { log } = captureLog();
  const q = new StickyQueueLog(ami, log, { answered }, clock);
  const advance = (ms: number) => (t += ms);
  const flush = () => new Promise((r) => setTimeout(r, 5));
  return { ami, q, advance, flush, clock };
}

const begin: AmiEvent = { Event: 'DialBegin', Uniqueid: 'c.1', Context: 'sticky-ring', Exten: '1002~20~ivr~s', CallerIDNum: '+12025550401', DestUniqueid: 'a.2', DestChannel: 'PJSIP/1002-00000001' };

function record(waitedMs: number): AbandonRecord {
  return AbandonRecord.fromEvent({ source: 'sticky_ring', at: '2026-12-01T10:00:00.000Z', caller: { raw: '+12025550401', e164: '+12025550401' }, agent: '1002', waitedMs, uniqueid: 'c.1' });
}

test('abandon while the sticky agent rings: ENTERQUEUE at ring start, ABANDON (agent NONE) at hang-up, 4 s apart', async () => {
  const { ami, q, advance, flush } = rig();
  q.onAmiEvent(begin);
  await flush();
  advance(4000);
  q.onAmiEvent({ Event: 'DialEnd', Uniqueid: 'c.1', DialStatus: 'CANCEL' });
  await q.abandoned(record(4100));
  q.onAmiEvent({ Event: 'Hangup', Uniqueid: 'c.1' });
  await flush();
  assert.deepEqual(ami.lines, [
    [1_000_000, 'c.1|sticky-router|NONE|ENTERQUEUE||+12025550401|1'],
    [1_004_000, 'c.1|sticky-router|NONE|ABANDON|1|1|4'],
  ]);
});

test('answered sticky call: CONNECT at answer (hold = ring time), COMPLETECALLER when the caller leaves the bridge first (whatever the Hangup order)', async () => {
  const { ami, q, advance, flush } = rig();
  q.onAmiEvent(begin);
  advance(3000);
  q.onAmiEvent({ Event: 'DialEnd', Uniqueid: 'c.1', DestUniqueid: 'a.2', DialStatus: 'ANSWER' });
  await flush();
  advance(61_000);
  q.onAmiEvent({ Event: 'BridgeLeave', Uniqueid: 'c.1' });
  q.onAmiEvent({ Event: 'BridgeLeave', Uniqueid: 'a.2' });
  // Dial() hangs up the agent's leg before the caller's.
  q.onAmiEvent({ Event: 'Hangup', Uniqueid: 'a.2' });
  q.onAmiEvent({ Event: 'Hangup', Uniqueid: 'c.1' });
  await flush();
  assert.deepEqual(ami.lines.map((l) => l[1]), [
    'c.1|sticky-router|NONE|ENTERQUEUE||+12025550401|1',
    'c.1|sticky-router|PJSIP/1002|CONNECT|3|a.2|3',
    'c.1|sticky-router|PJSIP/1002|COMPLETECALLER|3|61|1',
  ]);
  assert.equal(ami.lines[2]![0] - ami.lines[1]![0], 61_000);
});

test('the agent hangs up first: COMPLETEAGENT (from the first Hangup when AMI gave no BridgeLeave); with answered: false only ENTERQUEUE', async () => {
  const a = rig();
  a.q.onAmiEvent(begin);
  a.q.onAmiEvent({ Event: 'DialEnd', Uniqueid: 'c.1', DialStatus: 'ANSWER' });
  a.advance(10_000);
  a.q.onAmiEvent({ Event: 'Hangup', Uniqueid: 'a.2' });
  a.q.onAmiEvent({ Event: 'Hangup', Uniqueid: 'c.1' });
  await a.flush();
  assert.deepEqual(a.ami.lines.map((l) => l[1]).slice(2), ['c.1|sticky-router|PJSIP/1002|COMPLETEAGENT|0|10|1']);

  const b = rig(false);
  b.q.onAmiEvent(begin);
  b.q.onAmiEvent({ Event: 'DialEnd', Uniqueid: 'c.1', DialStatus: 'ANSWER' });
  b.q.onAmiEvent({ Event: 'Hangup', Uniqueid: 'c.1' });
  await b.flush();
  assert.deepEqual(b.ami.lines.map((l) => l[1]), ['c.1|sticky-router|NONE|ENTERQUEUE||+12025550401|1']);
});

test('no answer: RINGNOANSWER then EXITWITHTIMEOUT (the caller leaves for the fallback); a late abandon record writes nothing more', async () => {
  const { ami, q, advance, flush } = rig();
  q.onAmiEvent(begin);
  advance(20_000);
  q.onAmiEvent({ Event: 'DialEnd', Uniqueid: 'c.1', DialStatus: 'NOANSWER' });
  await q.abandoned(record(25_000));
  await flush();
  assert.deepEqual(ami.lines.map((l) => l[1]), [
    'c.1|sticky-router|NONE|ENTERQUEUE||+12025550401|1',
    'c.1|sticky-router|PJSIP/1002|RINGNOANSWER|20000',
    'c.1|sticky-router|NONE|EXITWITHTIMEOUT|1|1|20',
  ]);
});

test('DialBegin outside [sticky-ring] (queues, agents dialling out) writes nothing', async () => {
  const { ami, q, flush } = rig();
  q.onAmiEvent({ ...begin, Context: 'ivr' });
  q.onAmiEvent({ Event: 'DialEnd', Uniqueid: 'c.1', DialStatus: 'ANSWER' });
  await flush();
  assert.deepEqual(ami.lines, []);
});

test('short abandon (below the DID threshold): journaled and kept in the outbox with short: true, notifies nobody', async (t) => {
  const tmp = tempDir();
  const { log, lines } = captureLog();
  const sent: Notification[] = [];
  const notifier: Notifier = { channel: 'webhook', send: async (n) => void sent.push(n) };
  const outbox = new Outbox({ dataDir: tmp.dir, notifiers: [notifier], dedupeWindowMs: 0, log });
  const ami = Object.assign(new EventEmitter(), { action: async () => ({}) });
  const persisted: AbandonRecord[] = [];
  const pipeline = new AbandonPipeline({ sink: new AbandonSink(), ami, outbox, log, persist: (r) => void persisted.push(r), shortAbandonMs: (did) => (did === '100' ? 5000 : 0) });
  outbox.start();
  t.after(async () => {
    await outbox.stop();
    tmp.remove();
  });
  const ev = (uniqueid: string, did: string, waitedMs: number) => ({ source: 'queue' as const, at: '2026-12-01T10:00:00.000Z', caller: { raw: '+12025550402', e164: '+12025550402' }, did, waitedMs, uniqueid });
  await pipeline.handle(ev('s.1', '100', 4900));
  await pipeline.handle(ev('s.2', '200', 4900));
  await pipeline.handle(ev('s.3', '100', 5000));
  assert.deepEqual(persisted.map((r) => [r.uniqueid, r.short]), [['s.1', true], ['s.2', false], ['s.3', false]]);
  assert.equal(persisted[0]!.toDocument().short, true, 'the journal / ES document carries short: true');
  await waitUntil(() => sent.length === 2, 2000, 'two notifications');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(sent.map((n) => n.latest.uniqueid), ['s.2', 's.3']);
  assert.equal(outbox.counts().webhook?.pending, 0);
  assert.ok(lines().some((l) => l.msg === 'caller abandoned (short abandon: nobody notified)'));
});
