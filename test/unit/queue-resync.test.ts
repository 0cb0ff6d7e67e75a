// Queue state after an AMI reconnect: Asterisk answers AMI before app_queue is loaded
// ("Invalid/unknown command: QueueStatus"). The snapshot must fail cleanly (no timer left
// to reject later: that was an unhandled rejection that killed the router during the
// reliability suite's restarts) and be retried until it succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueueState } from '../../src/queue/members.js';
import { resyncQueues } from '../../src/queue/resync.js';
import { createLogger } from '../../src/log.js';

function logger() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info', redactNumbers: false, destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  return { log, lines };
}

const unknownCommand = () => Promise.reject(new Error('AMI QueueStatus failed: Invalid/unknown command: QueueStatus'));

test('a QueueStatus the PBX refuses rejects refresh at once and leaves nothing to fire later', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  try {
    const state = new QueueState();
    const ami = { action: (f: Record<string, unknown>) => (f.Action === 'GetConfig' ? Promise.resolve({}) : unknownCommand()) };
    await assert.rejects(state.refresh(ami, 50), /Invalid\/unknown command/);
    await new Promise((r) => setTimeout(r, 150)); // past the 50 ms snapshot timeout
    assert.deepEqual(unhandled, [], 'no rejection surfaced after the refresh failed');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('resync retries until app_queue answers, logs one warning and one recovery', async () => {
  const { log, lines } = logger();
  let calls = 0;
  const ok = await resyncQueues(async () => {
    if (++calls < 4) await unknownCommand();
  }, { log, current: () => true, baseMs: 5, capMs: 20 });
  assert.equal(ok, true);
  assert.equal(calls, 4);
  assert.deepEqual(lines.map((l) => l.msg), ['queue state not reloaded; queue checks are off until it is', 'queue state reloaded; queue checks are on again']);
});

test('resync stops when the AMI session it belongs to is gone, or the router stops', async () => {
  const { log } = logger();
  let calls = 0;
  let current = true;
  const gone = resyncQueues(async () => {
    calls++;
    if (calls === 2) current = false;
    await unknownCommand();
  }, { log, current: () => current, baseMs: 5, capMs: 5 });
  assert.equal(await gone, false);
  assert.equal(calls, 2);

  const stop = new AbortController();
  let tries = 0;
  const stopped = resyncQueues(async () => {
    tries++;
    await unknownCommand();
  }, { log, current: () => true, signal: stop.signal, baseMs: 10_000, capMs: 10_000 });
  setTimeout(() => stop.abort(), 20);
  assert.equal(await stopped, false, 'the abort ends the 10 s backoff sleep at once');
  assert.equal(tries, 1);
});
