// Voice quality measured by the real Asterisk (issue 15), with real RTP both ways:
// the caller's and the agent's sipp replay a PCMU stream each (play_pcap_audio).
//   - lossy: sticky call (history says 1002); the caller's stream leaves out every
//     10th RTP packet (60 of 600 in 12 s, the last one undetectable), the agent's is clean;
//   - clean: no history, so IVR → queue support → 1002; both streams complete.
// Each call lasts longer than its stream plus one RTCP interval (rtp.conf
// rtcpinterval, 5 s default): Asterisk computes loss and MES when it sends a report.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { Client } from '@elastic/elasticsearch';
import type { TestCluster } from '../es-double/cluster.js';
import { startRouter, type RouterProcess } from '../support/router.js';
import { call, startAgent, type Agent } from '../support/sipp.js';
import { hangupAllChannels, phoneUp, waitChannelsGone, waitEndpointState } from '../support/harness.js';
import { agentStatesLoaded, decisionAfter, esCdrs, journalCdrs, poll } from '../support/cdr.js';
import { historyDoc, seededCluster } from '../support/history.js';
import { writeRtpPcap, type RtpPcapInfo } from '../support/rtp-pcap.js';
import type { CdrDocument } from '../../src/cdr/schema.js';

const prefix = `it-vq-${Date.now()}`;
const LOSSY_CALLER = '+12025550610';
const CLEAN_CALLER = '+12025550611';
const log = (...a: unknown[]) => console.error('#', ...a);
let cluster: TestCluster;
let es: Client;
let router: RouterProcess;
let agent: Agent;
let lossy: RtpPcapInfo;
let clean: RtpPcapInfo;
let agentStream: RtpPcapInfo;

before(async () => {
  await hangupAllChannels();
  const dir = mkdtempSync(join(tmpdir(), 'sticky-vq-'));
  lossy = writeRtpPcap(join(dir, 'lossy.pcap'), { seconds: 12, dropEvery: 10 });
  clean = writeRtpPcap(join(dir, 'clean.pcap'), { seconds: 12 });
  agentStream = writeRtpPcap(join(dir, 'agent.pcap'), { seconds: 12, ssrc: 0xa6e47 });
  cluster = await seededCluster(prefix, [historyDoc(LOSSY_CALLER, '1002', DateTime.utc().minus({ minutes: 4 }))]);
  es = new Client({ node: cluster.node });
  router = await startRouter({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT10S' });
  agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300, pcap: agentStream.file }));
  await waitEndpointState('1001', 'offline');
  await waitEndpointState('1003', 'offline');
  await agentStatesLoaded(router);
});

after(async () => {
  await agent?.stop();
  await router?.stop();
  await es?.close();
  await cluster?.clean(prefix);
  await cluster?.close();
});

async function cdrOf(caller: string): Promise<CdrDocument> {
  const [doc] = await poll(() => journalCdrs(router.dataDir, (d) => d.customer_e164 === caller && d.agent === '1002'), (ds) => ds.length === 1, 15_000, `the CDR of ${caller}`);
  return doc!;
}

test('lossy call (sticky path): the caller leg shows the induced ~10 % loss in the CDR, in the journal and in Elasticsearch; the agent leg none', async () => {
  const from = router.lines.length;
  const r = await call('100', LOSSY_CALLER, { talkMs: 17_500, pcap: lossy.file, timeoutS: 60 });
  assert.equal(r.exitCode, 0, `call completed: ${r.errors.slice(0, 300)}`);
  const d = await decisionAfter(router, LOSSY_CALLER, from);
  assert.equal(d.reason, 'sticky_agent');
  await waitChannelsGone();
  const doc = await cdrOf(LOSSY_CALLER);
  const q = doc.quality;
  log('lossy call quality', JSON.stringify(q));
  assert.ok(q?.caller && q.agent, `both legs measured: ${JSON.stringify(q)}`);
  // 60 packets left out of 600; the 600th is the last, so Asterisk can detect 59.
  assert.equal(lossy.dropped, 60);
  assert.ok(q.caller.rx.lost! >= 55 && q.caller.rx.lost! <= 60, `caller→PBX lost ${q.caller.rx.lost}`);
  assert.ok(q.caller.rx.loss_pct! >= 9 && q.caller.rx.loss_pct! <= 10.5, `caller→PBX loss ${q.caller.rx.loss_pct} %`);
  assert.ok(Math.abs(q.caller.rx.packets - lossy.packets) <= 2, `received ${q.caller.rx.packets} of ${lossy.packets} sent`);
  assert.equal(q.agent.rx.lost, 0, 'agent→PBX: nothing lost');
  assert.equal(q.agent.rx.loss_pct, 0);
  assert.ok(Math.abs(q.agent.rx.packets - agentStream.packets) <= 2, `agent stream received ${q.agent.rx.packets} of ${agentStream.packets}`);
  assert.ok(q.caller.rx.mes! < q.agent.rx.mes!, `loss lowers the MES: caller ${q.caller.rx.mes}, agent ${q.agent.rx.mes}`);
  assert.equal(q.mes, q.caller.rx.mes, "the call's MES is its worse leg");
  assert.equal(q.loss_pct, q.caller.rx.loss_pct);
  // sipp sends no RTCP: nothing reported from the phones, so no tx loss and no RTT.
  assert.equal(q.caller.tx.loss_pct, undefined);
  assert.equal(q.rtt_ms, undefined);
  assert.ok(q.caller.tx.packets > 500, `PBX→caller packets ${q.caller.tx.packets}`);
  assert.equal(q.codec, 'ulaw');
  assert.equal(q.hangup_by, 'caller');
  assert.equal(q.hangup_cause, 16);
  assert.equal(q.sip_cause, 'SIP 200 OK');
  // Set-up: INVITE → the agent answers after its 300 ms ring, plus the router's decision.
  assert.ok(q.setup_ms! >= 300 && q.setup_ms! < 5000, `set-up ${q.setup_ms} ms`);
  assert.equal(q.trunk, 'PJSIP/trunk');
  const [hit] = await poll(() => esCdrs(es, prefix, { term: { customer_e164: LOSSY_CALLER } }).then((h) => h.filter((x) => x.doc.quality)), (h) => h.length === 1, 15_000, 'the CDR in Elasticsearch');
  assert.deepEqual(hit!.doc.quality, q, 'Elasticsearch holds the same quality document');
  const mapping = await es.indices.getMapping({ index: hit!.index });
  const props = (Object.values(mapping)[0]!.mappings.properties!.quality as { properties: Record<string, { type?: string }> }).properties;
  assert.equal(props.mes!.type, 'float', 'quality.mes mapped by the template');
});

test('clean call (IVR → queue → agent): no loss on either leg, a higher MES', async () => {
  const r = await call('100', CLEAN_CALLER, { talkMs: 17_500, pcap: clean.file, timeoutS: 60 });
  assert.equal(r.exitCode, 0, `call completed: ${r.errors.slice(0, 300)}`);
  await waitChannelsGone();
  const doc = await cdrOf(CLEAN_CALLER);
  const q = doc.quality;
  log('clean call quality', JSON.stringify(q));
  assert.ok(q?.caller && q.agent, `both legs measured (the queue's b() pre-dial handler arms the agent's): ${JSON.stringify(q)}`);
  assert.equal(doc.asterisk.lastapp, 'Queue');
  assert.equal(q.caller.rx.lost, 0);
  assert.equal(q.caller.rx.loss_pct, 0);
  assert.equal(q.agent.rx.loss_pct, 0);
  assert.equal(q.loss_pct, 0);
  assert.ok(q.mes! > 80, `clean MES ${q.mes}`);
  // Jitter is real (sipp's timing on a shared machine): only check it is a plausible figure in ms.
  assert.ok(q.caller.rx.jitter_ms! >= 0 && q.caller.rx.jitter_ms! < 60, `jitter ${q.caller.rx.jitter_ms} ms`);
  assert.ok(q.setup_ms! >= 0 && q.setup_ms! < 3000, `set-up (IVR answers) ${q.setup_ms} ms`);
});
