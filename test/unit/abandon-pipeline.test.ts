// The pipeline against a fake AMI (an EventEmitter speaking the same events) and
// the router's AbandonSink: record, log line, persist, notification, queue_log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { DateTime } from 'luxon';
import type { AmiEvent } from '../../src/ami/connection.js';
import { createLogger } from '../../src/log.js';
import { CallVarTracker } from '../../src/abandon/call-vars.js';
import type { Notification } from '../../src/abandon/notification.js';
import type { Notifier } from '../../src/abandon/notifiers/types.js';
import { Outbox } from '../../src/abandon/outbox.js';
import { AbandonPipeline } from '../../src/abandon/pipeline.js';
import { queueLogAction } from '../../src/abandon/queue-log.js';
import type { AbandonRecord } from '../../src/abandon/record.js';
import { AbandonSink, type AbandonEvent } from '../../src/abandon/sink.js';
import { captureLog, sampleRecord, tempDir, waitUntil } from './notify-helpers.js';

class FakeAmi extends EventEmitter {
  actions: Record<string, unknown>[] = [];
  connected = true;
  async action(fields: Record<string, unknown>): Promise<unknown> {
    if (!this.connected) throw new Error('AMI not connected');
    this.actions.push(fields);
    return { Response: 'Success' };
  }
  send(e: AmiEvent): void {
    this.emit('event', e);
  }
}

class FakeNotifier implements Notifier {
  readonly channel = 'webhook' as const;
  sent: Notification[] = [];
  async send(n: Notification): Promise<void> {
    this.sent.push(n);
  }
}

/** The line Asterisk's QueueLog action writes: time|Uniqueid|Queue|Interface|Event|Message. */
const queueLogLine = (a: Record<string, unknown>) => ['1763726407', a.Uniqueid, a.Queue, a.Interface, a.Event, a.Message].join('|');

function setup(t: { after(fn: () => unknown): void }, opts: { persist?: (r: AbandonRecord) => void | Promise<void>; log?: ReturnType<typeof captureLog>['log']; queueLog?: false } = {}) {
  const tmp = tempDir();
  const cap = captureLog();
  const log = opts.log ?? cap.log;
  const ami = new FakeAmi();
  const sink = new AbandonSink();
  const notifier = new FakeNotifier();
  const outbox = new Outbox({ dataDir: tmp.dir, notifiers: [notifier], dedupeWindowMs: 600_000, log, backoffBaseMs: 20, backoffCapMs: 100 });
  const persisted: AbandonRecord[] = [];
  const now = DateTime.fromISO('2026-11-21T12:00:03.000Z', { zone: 'utc' });
  const pipeline = new AbandonPipeline({ sink, ami, outbox, log, region: 'UA', clock: () => now, persist: opts.persist ?? ((r) => void persisted.push(r)), queueLog: opts.queueLog });
  pipeline.start();
  outbox.start();
  t.after(async () => {
    pipeline.stop();
    await outbox.stop();
    tmp.remove();
  });
  return { ami, sink, notifier, outbox, persisted, pipeline, cap };
}

const chan = { Channel: 'PJSIP/trunk-00000003', Uniqueid: '1763726400.17', Linkedid: '1763726400.17' };

test('queue abandon: DID and sticky agent from the dialplan vars; logged, persisted, notified; no queue_log write', async (t) => {
  const { ami, notifier, persisted, cap } = setup(t);
  ami.send({ Event: 'VarSet', ...chan, Variable: '__STICKY_DID', Value: '5551000' });
  ami.send({ Event: 'VarSet', ...chan, Variable: '__STICKY_AGENT', Value: '1002' });
  ami.send({ Event: 'QueueCallerJoin', ...chan, Queue: 'support', Position: '1', Count: '1', CallerIDNum: '0961234567' });
  ami.send({ Event: 'QueueCallerAbandon', ...chan, Queue: 'support', Position: '1', OriginalPosition: '1', HoldTime: '3', CallerIDNum: '0961234567' });
  ami.send({ Event: 'Hangup', ...chan, Cause: '16' });
  await waitUntil(() => notifier.sent.length === 1, 2000, 'notification');

  assert.equal(persisted.length, 1);
  const r = persisted[0]!;
  assert.deepEqual(
    { did: r.did, queue: r.queue, agent: r.sticky_agent, waited: r.waited_seconds, caller: r.caller, source: r.source, at: r['@timestamp'] },
    { did: '5551000', queue: 'support', agent: '1002', waited: 3, caller: { raw: '0961234567', e164: '+380961234567' }, source: 'queue', at: '2026-11-21T12:00:03.000Z' },
  );
  const line = cap.lines().find((l) => l.event === 'abandon')!;
  assert.deepEqual(line.abandon, JSON.parse(JSON.stringify(r)));
  assert.equal(notifier.sent[0]!.latest.id, r.id);
  assert.deepEqual(ami.actions, [], 'Asterisk already wrote the queue ABANDON line itself');
});

test('router-phase abandon whose ring start AMI missed: queue_log ENTERQUEUE then …|NONE|ABANDON|1|1|<waited> through AMI QueueLog', async (t) => {
  const { ami, sink, notifier, persisted } = setup(t);
  const e: AbandonEvent = {
    source: 'sticky_ring', at: '2026-11-21T12:00:07.000Z', caller: { raw: '+380961234567', e164: '+380961234567' },
    did: '5551000', agent: '1002', waitedMs: 6600, uniqueid: '1763726400.20', linkedid: '1763726400.20',
  };
  sink.publish(e);
  await waitUntil(() => ami.actions.length === 2 && notifier.sent.length === 1, 2000, 'queue_log and notification');
  assert.equal(persisted.length, 1);
  assert.deepEqual(ami.actions, [
    { Action: 'QueueLog', Queue: 'sticky-router', Uniqueid: '1763726400.20', Event: 'ENTERQUEUE', Interface: 'NONE', Message: '|+380961234567|1' },
    { Action: 'QueueLog', Queue: 'sticky-router', Uniqueid: '1763726400.20', Event: 'ABANDON', Interface: 'NONE', Message: '1|1|7' },
  ]);
  assert.equal(queueLogLine(ami.actions[0]!), '1763726407|1763726400.20|sticky-router|NONE|ENTERQUEUE||+380961234567|1');
  assert.equal(queueLogLine(ami.actions[1]!), '1763726407|1763726400.20|sticky-router|NONE|ABANDON|1|1|7');

  // The same event again (a resend) is not handled twice.
  sink.publish(e);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(persisted.length, 1);
  assert.equal(ami.actions.length, 2);
});

test('QUEUE_LOG_STICKY=false (queueLog: false): a sticky ring answered, and one abandoned, write no queue_log line; the abandon is still recorded and notified', async (t) => {
  const { ami, sink, notifier, persisted } = setup(t, { queueLog: false });
  const ring = { Channel: 'PJSIP/trunk-00000004', Uniqueid: '1763726400.30', Linkedid: '1763726400.30', Context: 'sticky-ring', Exten: '1002~20', CallerIDNum: '+380961234567' };
  ami.send({ Event: 'DialBegin', ...ring, DestUniqueid: '1763726400.31' });
  ami.send({ Event: 'DialEnd', ...ring, DialStatus: 'ANSWER' });
  ami.send({ Event: 'BridgeLeave', ...ring });
  ami.send({ Event: 'Hangup', ...ring, Cause: '16' });
  sink.publish({ source: 'sticky_ring', at: '2026-11-21T12:00:07.000Z', caller: { raw: '+380961234567', e164: '+380961234567' }, did: '5551000', agent: '1002', waitedMs: 6600, uniqueid: '1763726400.40', linkedid: '1763726400.40' });
  await waitUntil(() => notifier.sent.length === 1, 2000, 'notification');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(persisted.length, 1);
  assert.deepEqual(ami.actions, []);
});

test('queue_log lines wait while AMI is down and are written on reconnect', async (t) => {
  const { ami, pipeline } = setup(t);
  ami.connected = false;
  await pipeline.handle({ source: 'sticky_ring', at: '2026-11-21T12:00:07.000Z', caller: { raw: '1001' }, waitedMs: 2000, uniqueid: 'u-1' });
  assert.equal(ami.actions.length, 0);
  ami.connected = true;
  ami.emit('connected');
  await waitUntil(() => ami.actions.length === 2, 1000, 'flushed on reconnect');
  assert.equal(queueLogLine(ami.actions[1]!), '1763726407|u-1|sticky-router|NONE|ABANDON|1|1|2');
});

test('a caller-controlled value cannot add queue_log fields', () => {
  const r = sampleRecord({ caller: { raw: '123|456' }, queue: undefined });
  const enter = queueLogAction({ queue: 'sticky-router', uniqueid: r.uniqueid, event: 'ENTERQUEUE', data: ['', r.caller.raw, r.original_position] });
  assert.equal(enter.Message, '|123 456|2');
});

test('persist failing is logged; the notification still goes out; recentAbandonFor sees the call', async (t) => {
  const { pipeline, notifier, cap } = setup(t, { persist: () => Promise.reject(new Error('disk full')) });
  await pipeline.handle({ source: 'queue', at: '2026-11-21T12:00:07.000Z', caller: { raw: '+380961234567', e164: '+380961234567' }, queue: 'support', waitedMs: 9000, uniqueid: 'p-1' });
  await waitUntil(() => notifier.sent.length === 1, 2000, 'notified anyway');
  assert.ok(cap.lines().some((l) => l.msg === 'abandon record not persisted'));
  const recent = pipeline.recentAbandonFor('+380961234567', DateTime.fromISO('2026-11-21T11:30:07.000Z'));
  assert.deepEqual(recent, { at: '2026-11-21T12:00:07.000Z', count: 1, source: 'queue', queue: 'support' });
  assert.equal(pipeline.recentAbandonFor('+380961234567', DateTime.fromISO('2026-11-21T12:00:08.000Z')), undefined);
});

test('LOG_REDACT_NUMBERS redacts the caller in the abandon line', async (t) => {
  const out: string[] = [];
  const log = createLogger({ level: 'info', redactNumbers: true, destination: new Writable({ write: (c: Buffer, _e, cb) => { out.push(c.toString()); cb(); } }) });
  const { pipeline } = setup(t, { log });
  await pipeline.handle({ source: 'queue', at: '2026-11-21T12:00:07.000Z', caller: { raw: '0961234567', e164: '+380961234567' }, waitedMs: 1000, uniqueid: 'red-1' });
  const line = out.map((l) => JSON.parse(l) as { event?: string; abandon?: { caller: unknown } }).find((l) => l.event === 'abandon')!;
  assert.deepEqual(line.abandon!.caller, { raw: '[redacted]', e164: '[redacted]' });
});

test('the call-variable map is bounded and forgets a channel shortly after Hangup', async () => {
  const vars = new CallVarTracker({ max: 2, lingerMs: 30 });
  const set = (id: string, v: string) => vars.onAmiEvent({ Event: 'VarSet', Uniqueid: id, Variable: 'STICKY_DID', Value: v });
  set('a', '1');
  set('b', '2');
  set('c', '3');
  assert.equal(vars.size, 2);
  assert.equal(vars.get('a'), undefined, 'oldest dropped');
  vars.onAmiEvent({ Event: 'VarSet', Uniqueid: 'c', Variable: 'OTHER', Value: 'x' });
  vars.onAmiEvent({ Event: 'Hangup', Uniqueid: 'c' });
  assert.equal(vars.get('c')?.did, '3', 'still there right after Hangup');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(vars.get('c'), undefined);
  vars.onAmiEvent({ Event: 'Hangup', Uniqueid: 'never-seen' });
  assert.equal(vars.size, 1);
  vars.clear();
});
