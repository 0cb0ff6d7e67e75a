// The shared helpers (src/timeout.ts, src/bounded-map.ts, src/env.ts, src/ari/endpoint-state.ts) behave as their callers rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimeoutError, withTimeout } from '../../src/timeout.js';
import { BoundedMap } from '../../src/bounded-map.js';

test('withTimeout: the work wins, the timer wins, a synchronous throw rejects', async () => {
  assert.equal(await withTimeout(Promise.resolve(7), 1000, 'x'), 7);
  await assert.rejects(withTimeout(new Promise(() => undefined), 20, 'lookup exceeded 20 ms'), (e: unknown) => e instanceof TimeoutError && e.message === 'lookup exceeded 20 ms');
  await assert.rejects(withTimeout(() => { throw new Error('boom'); }, 1000, 'x'), /boom/);
  await assert.rejects(withTimeout(Promise.reject(new Error('own')), 1000, 'x'), /own/);
});

test('withTimeout clears its timer: a finished race does not keep the process alive', async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  await withTimeout(Promise.resolve(1), 60_000, 'x');
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before);
});

test('BoundedMap drops the oldest insertion and says so', () => {
  const evicted: string[] = [];
  const m = new BoundedMap<string, number>(2, (k) => evicted.push(k));
  m.set('a', 1).set('b', 2).set('a', 10); // re-setting keeps a's place
  assert.deepEqual(evicted, []);
  m.set('c', 3);
  assert.deepEqual([...m.keys()], ['b', 'c']);
  assert.deepEqual(evicted, ['a']);
  m.delete('b');
  assert.deepEqual(evicted, ['a']);
  assert.equal(m.size, 1);
  assert.equal(m.take('c'), 3);
  assert.equal(m.take('c'), undefined);
  assert.equal(m.size, 0);
});

test('env: secrets are never echoed, empty means unset, durations are checked', async () => {
  const { configErrorLine, isSecretVariable, isoDuration, readEnv } = await import('../../src/env.js');
  assert.equal(configErrorLine('AMI_PASSWORD', 'hunter2', 'x'), 'config: AMI_PASSWORD=<redacted> is invalid: expected x');
  assert.equal(configErrorLine('SLACK_WEBHOOK_URL', 'https://hooks.slack.com/services/T/B/X', 'x'), 'config: SLACK_WEBHOOK_URL=<redacted> is invalid: expected x');
  assert.equal(configErrorLine('AMI_HOST', 'pbx!', 'a host'), 'config: AMI_HOST="pbx!" is invalid: expected a host');
  assert.equal(configErrorLine('ARI_PASSWORD', undefined, 'y'), 'config: ARI_PASSWORD=(unset) is invalid: expected y');
  assert.ok(isSecretVariable('HTTP_TOKEN') && isSecretVariable('ES_API_KEY') && !isSecretVariable('ES_NODE'));
  assert.deepEqual(readEnv({ A: '1', B: '', C: undefined }, ['A', 'B', 'C']), { A: '1' });
  const positive = isoDuration({ allowZero: false, expected: (raw) => `positive, got ${raw}` });
  const any = isoDuration({ allowZero: true, expected: () => 'a duration' });
  assert.equal(positive.parse('PT0.3S'), 300);
  assert.equal(any.parse('PT0S'), 0);
  assert.match(positive.safeParse('PT0S').error?.issues[0]?.message ?? '', /positive, got PT0S/);
  assert.equal(any.safeParse('30 minutes').success, false);
});

test('env: one duration parser for loaders, the CLI and the HTTP API; URL credentials never echoed', async () => {
  const { configErrorLine, isoDurationMs, positiveDuration } = await import('../../src/env.js');
  assert.equal(isoDurationMs('P1D'), 86_400_000);
  assert.equal(isoDurationMs('PT0S'), undefined);
  assert.equal(isoDurationMs('PT0S', true), 0);
  assert.equal(isoDurationMs('-PT1M', true), undefined);
  assert.equal(isoDurationMs('1 day'), undefined);
  assert.match(positiveDuration('PT15M').safeParse('PT0S').error?.issues[0]?.message ?? '', /^an ISO-8601 duration greater than zero, e.g. PT15M$/);
  assert.equal(configErrorLine('PUBLIC_URL', 'https://bob:pw@pbx.example.com/x?', 'a URL'), 'config: PUBLIC_URL="https://<redacted>@pbx.example.com/x?" is invalid: expected a URL');
});

test('endpoint state: one mapping for ARI endpoints and device states', async () => {
  const { agentStateOfDevice, agentStateOfEndpoint } = await import('../../src/ari/endpoint-state.js');
  assert.equal(agentStateOfEndpoint({ state: 'offline', channel_ids: ['x'] }), 'offline');
  assert.equal(agentStateOfEndpoint({ state: 'online', channel_ids: ['x'] }), 'busy');
  assert.equal(agentStateOfEndpoint({ state: 'online', channel_ids: [] }), 'online');
  assert.equal(agentStateOfEndpoint({ state: 'unknown' }), 'unknown');
  const device: [string, string][] = [['NOT_INUSE', 'online'], ['INUSE', 'busy'], ['RINGING', 'busy'], ['ONHOLD', 'busy'], ['UNAVAILABLE', 'offline'], ['INVALID', 'offline'], ['UNKNOWN', 'unknown']];
  for (const [s, want] of device) assert.equal(agentStateOfDevice(s), want, s);
  const { agentStateOfDeviceCode } = await import('../../src/ari/endpoint-state.js');
  // app_queue's numbers: 0 unknown, 1 not in use, 2 in use, 3 busy, 4 invalid, 5 unavailable, 6 ringing, 7 ring+in use, 8 on hold.
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(agentStateOfDeviceCode), ['unknown', 'online', 'busy', 'busy', 'offline', 'offline', 'busy', 'busy', 'busy', 'unknown']);
});
