// ari-client dies on a malformed or unknown event frame and never notices a dead
// WebSocket; the router's guard must keep routing through both. A proxy between
// the router and Asterisk's real ARI injects the faults.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { testCluster } from '../es-double/cluster.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { startAriProxy, type AriProxy } from '../support/ari-proxy.js';
import { call } from '../support/sipp.js';
import { historyDoc, seededCluster } from '../support/history.js';
import { hangupAllChannels, harnessEnv, waitChannelsGone } from '../support/harness.js';

const prefix = `it-ari-${Date.now()}`;
let cluster: Awaited<ReturnType<typeof testCluster>>;
let proxy: AriProxy;
let router: RouterProcess;

before(async () => {
  await hangupAllChannels();
  cluster = await seededCluster(prefix, [historyDoc('+12025550400', '1003', DateTime.utc().minus({ minutes: 5 }))]);
  proxy = await startAriProxy(harnessEnv.ARI_URL);
  router = await startRouter({ ARI_URL: proxy.url, ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix });
});

after(async () => {
  await router?.stop();
  await proxy?.close();
  await cluster?.clean(prefix);
  await cluster?.close();
});

// 1003 has no phone, so a routed call is decided agent_offline: proof the router saw it.
async function routedCall(): Promise<Record<string, unknown>> {
  const before = router.lines.length;
  const result = await call('100', '+12025550400', { talkMs: 300 });
  assert.equal(result.exitCode, 0);
  const d = await router.waitForLog((l) => l.event === 'decision' && router.lines.indexOf(l) >= before, 10_000, 'decision');
  await waitChannelsGone();
  return d;
}

test('malformed and unknown ARI frames are dropped with a warning; the router keeps routing', async () => {
  const frames = [
    'not json at all',
    '[]',
    '{}',
    '{"type":"NoSuchEventType","application":"sticky-router"}',
    '{"type":"StasisStart","channel":"not-an-object","args":[]}',
    '{"type":"StasisEnd","channel":null}',
    '{"type":"ChannelDestroyed","channel":{"id":42}}',
    `{"type":"${'x'.repeat(5000)}"}`,
  ];
  for (const f of frames) proxy.inject(f);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(router.proc.exitCode, null, 'the router is still running');
  const warned = router.lines.filter((l) => l.msg === 'ari frame ignored');
  assert.equal(warned.length, frames.length, `a warning for each bad frame (${warned.length} of ${frames.length})`);
  const d = await routedCall();
  assert.equal(d.reason, 'agent_offline');
  assert.equal(d.agent, '1003');
  // A StasisStart without a channel is no call: nothing was decided for it.
  assert.deepEqual(router.lines.filter((l) => l.event === 'decision').map((l) => l.reason), ['agent_offline'], 'one decision: the real call');
});

test('a WebSocket that stops answering pings is torn down and rebuilt; calls route again', async () => {
  const before = proxy.connections;
  const t0 = Date.now();
  proxy.blackhole();
  await router.waitForLog((l) => l.msg === 'ari websocket stopped answering pings; rebuilding', 15_000, 'dead socket noticed');
  const noticedMs = Date.now() - t0;
  await router.waitForLog((l) => l.msg === 'ari reconnected', 15_000, 'reconnect');
  assert.ok(proxy.connections > before, 'a new WebSocket was opened');
  assert.ok(noticedMs <= 8000, `dead socket noticed after ${noticedMs} ms (ping every 2 s, dead after 4 s)`);
  const d = await routedCall();
  assert.equal(d.reason, 'agent_offline');
  assert.equal(router.proc.exitCode, null);
});
