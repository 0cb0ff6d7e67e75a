// Voice quality measured by the real Asterisk (issue 15), with real RTP both ways:
// the caller's and the agent's sipp replay a PCMU stream each (play_pcap_audio).
//   - lossy: sticky call (history says 1002); the caller's stream leaves out every
//     10th RTP packet (60 of 600 in 12 s, the last one undetectable), the agent's is clean;
//   - clean: no history, so IVR → queue support → 1002; both streams complete.
// Each call lasts longer than its stream plus one RTCP interval (rtp.conf
// rtcpinterval, 5 s default): Asterisk computes loss and MES when it sends a report.
// Monitoring (MONITOR_FILE): voice_quality to an HMAC-verifying receiver (keys
// rotated between the calls), routing_api over mutual TLS, a third subscription at
// a dead port whose contacts get one e-mail per outage, and DID 100's limits (MES 70,
// loss 3 %) alerting on Slack, Telegram and e-mail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
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
import { cli } from '../harness/asterisk.js';
import { watchAmi } from '../support/ami-events.js';
import type { CdrDocument } from '../../src/cdr/schema.js';
import { mailHeader, mailText, startNotifyReceivers, unusedPort, type NotifyReceivers } from '../support/notify-receivers.js';
import { makeCerts, startMtlsReceiver, startSignedReceiver, type Certs } from '../support/monitor-receivers.js';

const prefix = `it-vq-${Date.now()}`;
const LOSSY_CALLER = '+12025550610';
const CLEAN_CALLER = '+12025550611';
const NO_QOS_CALLER = '+12025550612';
const log = (...a: unknown[]) => console.error('#', ...a);
let cluster: TestCluster;
let es: Client;
let router: RouterProcess;
let agent: Agent;
let lossy: RtpPcapInfo;
let clean: RtpPcapInfo;
let agentStream: RtpPcapInfo;
let rx: NotifyReceivers;
let vq: Awaited<ReturnType<typeof startSignedReceiver>>;
let mtls: Awaited<ReturnType<typeof startMtlsReceiver>>;
let certs: Certs;
let monitorFile: string;
let deadPort: number;
const CONSUMER = 'acme-pbx';
const KEY_V1 = 'first-key-0123456789abcdef';
const KEY_V2 = 'second-key-fedcba9876543210';
const receiverKeys = new Map([['1', KEY_V1]]);

/** The router's MONITOR_FILE with these HMAC keys (newest first). */
function writeMonitorFile(keys: { version: string; secret: string }[]): void {
  writeFileSync(
    monitorFile,
    JSON.stringify({
      subscriptions: [
        { id: 'vq', type: 'voice_quality', url: vq.url, auth: { type: 'hmac', consumer_id: CONSUMER, keys }, contacts: ['vq-owner@example.com'] },
        { id: 'api', type: 'routing_api', url: mtls.url, auth: { type: 'mtls', cert_file: 'client.pem', key_file: 'client.key', ca_file: 'test-ca.pem' } },
        { id: 'dead', type: 'routing_api', url: `http://127.0.0.1:${deadPort}/gone`, auth: { type: 'hmac', consumer_id: CONSUMER, keys }, contacts: ['noc@example.com'] },
      ],
      thresholds: { '100': { mes_below: 70, loss_above: 3 } },
    }),
  );
}
const routerEnv = () => ({ ES_NODE: cluster.node, ES_INDEX_PREFIX: prefix, AGENT_RING_TIMEOUT: 'PT10S', ...rx.env, MONITOR_FILE: monitorFile, MONITOR_ALERT_AFTER: 'PT4S' });

before(async () => {
  await hangupAllChannels();
  const dir = mkdtempSync(join(tmpdir(), 'sticky-vq-'));
  lossy = writeRtpPcap(join(dir, 'lossy.pcap'), { seconds: 12, dropEvery: 10 });
  clean = writeRtpPcap(join(dir, 'clean.pcap'), { seconds: 12 });
  agentStream = writeRtpPcap(join(dir, 'agent.pcap'), { seconds: 12, ssrc: 0xa6e47 });
  cluster = await seededCluster(prefix, [historyDoc(LOSSY_CALLER, '1002', DateTime.utc().minus({ minutes: 4 })), historyDoc(NO_QOS_CALLER, '1002', DateTime.utc().minus({ minutes: 4 }))]);
  es = new Client({ node: cluster.node });
  certs = makeCerts(dir);
  rx = await startNotifyReceivers();
  vq = await startSignedReceiver(CONSUMER, receiverKeys);
  mtls = await startMtlsReceiver(certs);
  deadPort = await unusedPort();
  monitorFile = join(dir, 'monitor.json');
  writeMonitorFile([{ version: '1', secret: KEY_V1 }]);
  router = await startRouter(routerEnv());
  agent = await phoneUp('1002', () => startAgent('1002', { ringMs: 300, pcap: agentStream.file }));
  await waitEndpointState('1001', 'offline');
  await waitEndpointState('1003', 'offline');
  await agentStatesLoaded(router);
});

after(async () => {
  await agent?.stop();
  await router?.stop();
  await vq?.close();
  await mtls?.close();
  await rx?.close();
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
  const ami = await watchAmi();
  const r = await call('100', LOSSY_CALLER, { talkMs: 17_500, pcap: lossy.file, timeoutS: 60 }).finally(() => ami.stop());
  assert.equal(r.exitCode, 0, `call completed: ${r.errors.slice(0, 300)}`);
  const d = await decisionAfter(router, LOSSY_CALLER, from);
  assert.equal(d.reason, 'sticky_agent');
  await waitChannelsGone();
  // The agent leg's handler is armed when the agent answers ([sticky-record] from Dial's
  // U()), not by a b() pre-dial handler: Asterisk runs that with the caller in
  // autoservice, whose stop often sleeps out a 50 ms poll before the agent's INVITE.
  const evs = ami.events;
  const begin = evs.findIndex((e) => e.Event === 'DialBegin' && e.CallerIDNum === LOSSY_CALLER && (e.DestChannel ?? '').startsWith('PJSIP/1002-'));
  assert.ok(begin >= 0, 'the sticky Dial to 1002 seen on AMI');
  const agentId = evs[begin]!.DestUniqueid;
  // (Dial marks its new channel with a pseudo-step, AppDial: no dialplan runs for it.)
  const early = evs.slice(0, begin).filter((e) => e.Event === 'Newexten' && e.Uniqueid === agentId && e.Application !== 'AppDial');
  assert.deepEqual(early.map((e) => `${e.Context},${e.Extension},${e.Priority} ${e.Application}`), [], "no dialplan ran on the agent's channel before it was called (no pre-dial handler)");
  const up = evs.findIndex((e) => e.Event === 'Newstate' && e.Uniqueid === agentId && e.ChannelState === '6');
  assert.ok(up > begin, 'the agent answered');
  assert.ok(evs.slice(up).some((e) => e.Event === 'HangupHandlerPush' && e.Uniqueid === agentId && /sticky-qos,agent,1/.test(e.Handler ?? '')), "the agent leg's [sticky-qos] handler armed at answer");
  // The hand-off lock is named after the device, not the channel: Asterisk's func_lock
  // keeps every lock name it was ever given, so a name per call would grow without end.
  const agentVar = (name: string) => evs.find((e) => e.Event === 'VarSet' && e.Uniqueid === agentId && e.Variable === name)?.Value;
  assert.equal(agentVar('STICKY_QOS_LOCK'), 'sticky-qos-PJSIP/1002');
  assert.equal(agentVar('STICKY_LOCKED'), '1', 'the agent leg took the hand-off lock at answer');
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
  // The last fields of each leg's value: cdr_manager's 1024-byte budget did not cut them off.
  assert.equal(q.agent.codec, 'ulaw');
  assert.equal(q.agent.hangup_cause, 16);
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

  // The voice_quality event, delivered and verified with key v1 by the independent receiver.
  const [req] = await poll(() => vq.requests.filter((x) => JSON.parse(x.rawBody).call?.uniqueid === doc.asterisk.uniqueid), (x) => x.length >= 1, 20_000, 'the voice_quality event');
  assert.deepEqual(req!.verdict, { ok: true, version: '1' });
  assert.equal(req!.headers['idempotency-key'], `vq-${doc.asterisk.uniqueid}`);
  const ev = JSON.parse(req!.rawBody);
  log('voice_quality event (lossy)', req!.rawBody);
  assert.equal(ev.type, 'voice_quality');
  assert.deepEqual(ev.quality, q, 'the event carries the CDR quality: both legs');
  assert.equal(ev.quality.caller.rx.loss_pct, q.caller.rx.loss_pct);
  assert.equal(ev.call.agent, '1002');
  assert.equal(ev.call.did, '100');
  assert.equal(ev.call.decision, 'sticky_agent');
  assert.equal(ev.call.caller, LOSSY_CALLER);
  assert.deepEqual(ev.breaches, [`MES ${q.mes} below 70`, `packet loss ${q.loss_pct} % above 3 %`]);
  // DID 100's limits: an alert on every chat/e-mail channel.
  await poll(() => rx.slack.requests.length + rx.telegram.requests.length + rx.smtp.mails.filter((m) => /Poor call quality/.test(mailHeader(m.raw, 'Subject') ?? '')).length, (n) => n >= 3, 15_000, 'quality alerts on slack, telegram, e-mail');
  assert.match(JSON.parse(rx.slack.requests[0]!.body).text, new RegExp(`Poor call quality: \\+${LOSSY_CALLER.slice(1)} on 100, agent 1002`));
  assert.match(JSON.parse(rx.telegram.requests[0]!.body).text, /packet loss 9\.\d+ % above 3 %/);
  const mail = rx.smtp.mails.find((m) => /Poor call quality/.test(mailHeader(m.raw, 'Subject') ?? ''))!;
  assert.deepEqual(mail.to, rx.emailTo);
  assert.match(mailText(mail.raw), /MES \d+(\.\d)? below 70/);
});

test('clean call (IVR → queue → agent) after a key rotation: no loss on either leg, a higher MES; the receiver verifies with the new key', async () => {
  // Rotation: the router signs with v2 and v1; the receiver has switched to v2 only.
  await router.stop();
  writeMonitorFile([{ version: '2', secret: KEY_V2 }, { version: '1', secret: KEY_V1 }]);
  receiverKeys.clear();
  receiverKeys.set('2', KEY_V2);
  router = await startRouter({ ...routerEnv(), DATA_DIR: router.dataDir });
  await agentStatesLoaded(router);
  const alertsBefore = rx.slack.requests.length;
  const r = await call('100', CLEAN_CALLER, { talkMs: 17_500, pcap: clean.file, timeoutS: 60 });
  assert.equal(r.exitCode, 0, `call completed: ${r.errors.slice(0, 300)}`);
  await waitChannelsGone();
  const doc = await cdrOf(CLEAN_CALLER);
  const q = doc.quality;
  log('clean call quality', JSON.stringify(q));
  assert.ok(q?.caller && q.agent, `both legs measured (the queue's gosub, [sticky-record], arms the agent's): ${JSON.stringify(q)}`);
  assert.equal(doc.asterisk.lastapp, 'Queue');
  assert.equal(q.caller.rx.lost, 0);
  assert.equal(q.caller.rx.loss_pct, 0);
  assert.equal(q.agent.rx.loss_pct, 0);
  assert.equal(q.loss_pct, 0);
  assert.ok(q.mes! > 80, `clean MES ${q.mes}`);
  // Jitter is real (sipp's timing on a shared machine): only check it is a plausible figure in ms.
  assert.ok(q.caller.rx.jitter_ms! >= 0 && q.caller.rx.jitter_ms! < 60, `jitter ${q.caller.rx.jitter_ms} ms`);
  assert.ok(q.setup_ms! >= 0 && q.setup_ms! < 3000, `set-up (IVR answers) ${q.setup_ms} ms`);

  const [req] = await poll(() => vq.requests.filter((x) => JSON.parse(x.rawBody).call?.uniqueid === doc.asterisk.uniqueid), (x) => x.length >= 1, 20_000, 'the voice_quality event');
  assert.deepEqual(req!.verdict, { ok: true, version: '2' }, 'verified with the new key');
  assert.equal(req!.headers['x-sticky-key-version'], '2');
  assert.deepEqual(vq.recheck(req!, new Map([['1', KEY_V1]])), { ok: true, version: '1' }, 'a receiver still on v1 accepts it too during the overlap');
  assert.equal(vq.recheck(req!, new Map([['1', 'a-key-the-router-never-had']])).ok, false, 'a wrong key is refused');
  const ev = JSON.parse(req!.rawBody);
  log('voice_quality event (clean)', req!.rawBody);
  assert.equal(ev.quality.loss_pct, 0);
  assert.equal(ev.quality.caller.rx.loss_pct, 0);
  assert.equal(ev.quality.agent.rx.loss_pct, 0);
  assert.equal(ev.call.queue, 'support');
  assert.equal(ev.call.decision, 'no_history');
  assert.equal(ev.breaches, undefined);
  assert.ok(vq.requests.every((x) => x.verdict.ok), 'every delivery verified');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(rx.slack.requests.length, alertsBefore, 'no quality alert for a clean call');
});

test('routing_api over mutual TLS: Elasticsearch lookups and bulks arrive from the configured client certificate; another CA or none is refused', async () => {
  const events = mtls.requests.map((x) => JSON.parse(x.rawBody) as { target: string; operation: string; status_code?: number; latency_ms: number; ok: boolean; endpoint: string });
  assert.ok(mtls.requests.length > 0 && mtls.requests.every((x) => x.peer === 'sticky-router-client'), `peers: ${[...new Set(mtls.requests.map((x) => x.peer))].join(',')}`);
  const lookup = events.find((e) => e.target === 'elasticsearch' && e.operation === 'lookup');
  const bulk = events.find((e) => e.target === 'elasticsearch' && e.operation === 'bulk');
  log('routing_api samples', JSON.stringify(lookup), JSON.stringify(bulk));
  assert.ok(lookup && bulk, `lookup and bulk among ${JSON.stringify([...new Set(events.map((e) => e.operation))])}`);
  assert.equal(lookup.status_code, 200);
  assert.ok(lookup.latency_ms >= 0 && lookup.latency_ms < 5000);
  assert.equal(bulk.ok, true);
  assert.doesNotMatch(JSON.stringify(events), /authorization|password/i);
  const tryWith = (cert?: { key: string; cert: string }) =>
    new Promise<string>((resolve) => {
      const req = httpsRequest(mtls.url, { method: 'POST', ca: certs.caCert, ...(cert ?? {}), agent: false }, (res) => resolve(`HTTP ${res.statusCode}`));
      req.on('error', (err) => resolve(`refused: ${err.message}`));
      req.end('{}');
    });
  const before = mtls.requests.length;
  const rogue = await tryWith({ key: certs.rogueKey, cert: certs.rogueCert });
  const none = await tryWith();
  assert.match(rogue, /^refused/, `a client certificate from another CA: ${rogue}`);
  assert.match(none, /^refused/, `no client certificate: ${none}`);
  assert.equal(mtls.requests.length, before, 'neither reached the handler');
});

test('a subscription that keeps failing e-mails its contacts once per outage (MONITOR_ALERT_AFTER=PT4S)', async () => {
  const outage = () => rx.smtp.mails.filter((m) => m.to.includes('noc@example.com'));
  await poll(outage, (m) => m.length >= 1, 20_000, 'the outage e-mail');
  // Failing since the first router's start (minutes of retries, a restart in between): still one.
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal(outage().length, 1, 'once per outage, across retries and a restart');
  const m = outage()[0]!;
  assert.match(mailHeader(m.raw, 'Subject') ?? '', /monitoring webhook dead failing for \d+ min/);
  assert.match(mailText(m.raw), /ECONNREFUSED/);
  assert.doesNotMatch(mailText(m.raw), /\/gone/, 'the URL path (may carry a token) is not in the mail');
  assert.equal(rx.smtp.mails.filter((x) => x.to.includes('vq-owner@example.com')).length, 0, 'the healthy subscription alerted nobody');
});

test('VOICE_QUALITY=off (dialplan global): the sticky call is routed and answered as before, its CDR carries no quality and no voice_quality event is sent', async () => {
  cli('dialplan set global VOICE_QUALITY off');
  try {
    const from = router.lines.length;
    const r = await call('100', NO_QOS_CALLER, { talkMs: 2000, timeoutS: 30 });
    assert.equal(r.exitCode, 0, `call completed: ${r.errors.slice(0, 300)}`);
    const d = await decisionAfter(router, NO_QOS_CALLER, from);
    assert.equal(d.reason, 'sticky_agent');
    await waitChannelsGone();
    const doc = await cdrOf(NO_QOS_CALLER);
    assert.equal(doc.talked, true, 'a conversation, learned as usual');
    assert.equal(doc.quality, undefined, `no [sticky-qos] handlers ran: ${JSON.stringify(doc.quality)}`);
    // The router ships a CDR's event as it keeps the CDR; give it the time a quality event takes.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(vq.requests.filter((x) => JSON.parse(x.rawBody).call?.uniqueid === doc.asterisk.uniqueid).length, 0, 'no voice_quality event');
  } finally {
    cli('dialplan set global VOICE_QUALITY on');
  }
});
