import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingActions } from '../../src/ami/pending-actions.js';

test('a response settles the action that carries its ActionID, and only that one', async () => {
  const p = new PendingActions();
  const a = p.nextId();
  const b = p.nextId();
  assert.notEqual(a, b);
  const wa = p.wait(a, 1000, 'a timed out');
  const wb = p.wait(b, 1000, 'b timed out');
  p.settle({ ActionID: 'someone-else', Response: 'Success' });
  p.settle({ Response: 'Success' }); // no ActionID: an unsolicited response
  p.settle({ ActionID: b, Response: 'Error', Message: 'no' });
  assert.deepEqual(await wb, { ActionID: b, Response: 'Error', Message: 'no' });
  assert.equal(p.size, 1);
  p.settle({ ActionID: a, Response: 'Success' });
  assert.equal((await wa).Response, 'Success');
  assert.equal(p.size, 0);
});

test('an unanswered action times out with its message and is forgotten', async () => {
  const p = new PendingActions();
  const id = p.nextId();
  await assert.rejects(p.wait(id, 20, 'AMI Ping timed out after 20 ms'), /AMI Ping timed out after 20 ms/);
  assert.equal(p.size, 0);
  p.settle({ ActionID: id, Response: 'Success' }); // late: ignored
});

test('a dropped socket rejects every action in flight at once', async () => {
  const p = new PendingActions();
  const waits = [p.wait(p.nextId(), 60_000, 'x'), p.wait(p.nextId(), 60_000, 'y')];
  const t0 = Date.now();
  p.failAll('AMI disconnected before answering');
  for (const w of waits) await assert.rejects(w, /disconnected/);
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(p.size, 0);
});
