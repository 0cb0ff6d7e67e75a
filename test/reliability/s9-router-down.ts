// 9. Calls while the router is down (stopped, as for an upgrade). Callers go to
// the fallback through the dialplan and talk to agents in queue support; three
// give up in the queue (its members paused). Nothing reaches the router on AMI.
// When it starts again on the same DATA_DIR it reads the CDRs back from
// Asterisk's own store and the abandons from queue_log: every CDR journaled and
// shipped once, every abandon recorded once, marked late and notified, and the
// callers who talked to an agent meanwhile are routed to that agent.
import { prepareIndices } from '../support/history.js';
import { abandonId } from '../../src/abandon/record.js';
import { Journal } from '../../src/cdr/journal.js';
import { DateTime } from 'luxon';
import { journalBacklog, journalCdrs } from '../support/cdr.js';
import { waitChannelsGone } from '../support/harness.js';
import { call } from '../support/sipp.js';
import { esAccounting, fmtMs, nanp, producedCdrs, sleep, spawnRouter, stopRouter, waitUntil, type Ctx, type Scenario } from './lib.js';
import type { AbandonDocument } from '../../src/abandon/record.js';

const TALKERS = 5;
const ABANDONERS = 3;
const members = ['PJSIP/1001', 'PJSIP/1002', 'PJSIP/1003'];

export async function s9RouterDown(ctx: Ctx, sc: Scenario): Promise<void> {
  const prefix = `${ctx.runId}-s9`;
  await prepareIndices(ctx.cluster.node, prefix);
  const ami = ctx.observer.ami;
  const first = await spawnRouter(ctx, 's9-before', { ES_INDEX_PREFIX: prefix });
  const dataDir = first.dataDir;
  await first.waitForLog((l) => l.msg === 'agent states loaded', 15_000);
  await sleep(1000);
  await stopRouter(first);
  const downAt = Date.now();
  const obsFrom = ctx.observer.events.length;

  // While down: callers talk to whoever answers in queue support…
  const talkers = Array.from({ length: TALKERS }, (_, i) => nanp(9, i));
  // One at a time (3 agents): talkMs counts from the IVR's answer, so a caller must outlast the queue's ring.
  const talked = await Promise.all(talkers.map((c, i) => sleep(i * 1500).then(() => call('900', c, { talkMs: 3500, timeoutS: 25 }))));
  // …and with every member paused, others give up after 3 s in the queue.
  for (const m of members) await ami.action({ Action: 'QueuePause', Queue: 'support', Interface: m, Paused: 'true', Reason: 's9' });
  const abandoners = Array.from({ length: ABANDONERS }, (_, i) => nanp(9, 100 + i));
  try {
    await Promise.all(abandoners.map((c, i) => sleep(i * 300).then(() => call('900', c, { talkMs: 3000, timeoutS: 25 }))));
  } finally {
    for (const m of members) await ami.action({ Action: 'QueuePause', Queue: 'support', Interface: m, Paused: 'false' });
  }
  await waitChannelsGone(20_000).catch(() => undefined);
  await sleep(1500);
  const ours = new Set([...talkers, ...abandoners]);
  const produced = producedCdrs(ctx.observer, (e) => ours.has(e.Source ?? ''), obsFrom);
  const qca = ctx.observer.events.slice(obsFrom).filter((e) => e.Event === 'QueueCallerAbandon' && abandoners.includes(String(e.CallerIDNum)));
  const talkedToAgent = talkers.filter((c) => [...produced.values()].some((p) => p.doc.customer_e164 === c && p.doc.talked && p.doc.agent));
  sc.check('precondition: the callers talked to agents while the router was down', talked.every((r) => r.exitCode === 0) && talkedToAgent.length === TALKERS, `${talkedToAgent.length}/${TALKERS} talked to an agent (Asterisk's Cdr)`);
  sc.check('precondition: queue abandons while the router was down (AMI QueueCallerAbandon)', qca.length === ABANDONERS, `${qca.length}/${ABANDONERS}`);
  sc.check('precondition: nothing journaled while down', journalCdrs(dataDir, (d) => ours.has(d.asterisk.src)).length === 0);

  const sinkFrom = ctx.sink.requests.length;
  const restartAt = Date.now();
  const second = await spawnRouter(ctx, 's9-after', { ES_INDEX_PREFIX: prefix, DATA_DIR: dataDir });
  const startedMs = Date.now() - restartAt;
  try {
    await second.waitForLog((l) => l.msg === 'agent states loaded', 15_000);
    const gap = second.lines.find((l) => l.msg === 'ami gap: reading what Asterisk recorded meanwhile');
    sc.check('the start opened a gap from the last AMI data of the stopped router', Boolean(gap), gap ? JSON.stringify(gap.gap) : 'none');
    const journaled = journalCdrs(dataDir, (d) => ours.has(d.asterisk.src));
    const ids = new Set(journaled.map((d) => d.id));
    const lost = [...produced.keys()].filter((id) => !ids.has(id));
    sc.check('every CDR of the downtime read back and journaled: 0 lost', lost.length === 0 && produced.size > 0, `${produced.size - lost.length}/${produced.size}`);
    sc.check('0 duplicated in the journal', ids.size === journaled.length, `${journaled.length} rows / ${ids.size} ids`);

    const j = new Journal(dataDir, { readonly: true });
    const abandons = [...j.iterate(DateTime.fromMillis(0), DateTime.utc().plus({ days: 1 }), 'abandon')].map((r) => JSON.parse(r.json) as AbandonDocument).filter((a) => abandoners.includes(a.caller.raw));
    j.close();
    const wantIds = new Set(qca.map((e) => abandonId(String(e.Uniqueid), 'queue')));
    sc.check('every queue abandon of the downtime recorded once, under the AMI path\'s id', abandons.length === ABANDONERS && abandons.every((a) => wantIds.has(a.id)), `${abandons.length} records, ${abandons.filter((a) => wantIds.has(a.id)).length} matching AMI`);
    sc.check('…marked late', abandons.every((a) => a.late === true), abandons.map((a) => String(a.late)).join(','));
    const notified = await waitUntil(() => abandoners.every((c) => ctx.sink.requests.slice(sinkFrom).some((r) => r.channel === 'webhook' && r.status < 300 && r.body.includes(c))), 30_000, 500);
    const hooks = ctx.sink.requests.slice(sinkFrom).filter((r) => r.channel === 'webhook' && r.status < 300 && abandoners.some((c) => r.body.includes(c)));
    sc.check('…and notified (signed webhook), saying they are late', notified && hooks.every((h) => h.body.includes('"late":true') && h.body.includes('Reported late')), `${hooks.length} webhook deliveries`);

    // The callers who talked meanwhile are routed to their agent now.
    const agentOf = new Map<string, string>();
    for (const d of journaled) if (d.talked && d.agent && d.customer_e164) agentOf.set(d.customer_e164, d.agent);
    const from = second.lines.length;
    const again = await Promise.all(talkers.map((c, i) => sleep(i * 1500).then(() => call('900', c, { talkMs: 1500, timeoutS: 25 }))));
    await sleep(1000);
    const decisions = second.lines.slice(from).filter((l) => l.event === 'decision');
    const right = talkers.filter((c) => decisions.some((d) => (d.caller as { raw?: string }).raw === c && d.reason === 'sticky_agent' && d.agent === agentOf.get(c)));
    sc.check('callers who talked to an agent while the router was down reach that agent', right.length === TALKERS && again.every((r) => r.exitCode === 0), `${right.length}/${TALKERS}`);

    await waitChannelsGone(20_000).catch(() => undefined);
    await sleep(1500);
    const drained = await waitUntil(() => journalBacklog(dataDir).backlog === 0, 30_000, 500);
    const producedAll = producedCdrs(ctx.observer, (e) => ours.has(e.Source ?? ''), obsFrom);
    const acc = esAccounting(ctx, prefix, producedAll, (d) => ours.has(String((d.asterisk as { src?: string })?.src)));
    sc.check('every CDR in Elasticsearch exactly once', drained && acc.lost.length === 0 && acc.dupIds === 0 && acc.dupUniqueid === 0, `${acc.inEs} in ES / ${producedAll.size} produced, ${acc.lost.length} lost, dup ${acc.dupIds}/${acc.dupUniqueid}`);
    const readBack = second.lines.find((l) => l.msg === 'cdrs that AMI had not delivered read back from the cdr store');
    sc.figure('router down (stop → start)', fmtMs(restartAt - downAt));
    sc.figure('start → "sticky-router started" (backfill included)', fmtMs(startedMs));
    sc.figure('gap logged at start', gap ? JSON.stringify(gap.gap) : 'none');
    sc.figure('CDRs produced while down / read back / journaled', `${produced.size} / ${String(readBack?.learned ?? 0)} / ${produced.size - lost.length}`);
    sc.figure('queue abandons while down / recorded late / notified', `${qca.length} / ${abandons.length} / ${new Set(hooks.map((h) => abandoners.find((c) => h.body.includes(c)))).size}`);
    sc.figure('returning callers routed to the agent they talked to while the router was down', `${right.length}/${TALKERS}`);
    sc.figure('CDRs produced / in Elasticsearch; lost / duplicated (_id) / duplicated (uniqueid)', `${producedAll.size} / ${acc.inEs}; ${lost.length + acc.lost.length} / ${acc.dupIds} / ${acc.dupUniqueid}`);
  } finally {
    await stopRouter(second);
  }
}
