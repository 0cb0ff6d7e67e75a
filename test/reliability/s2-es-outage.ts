// 2. Elasticsearch unreachable for 60 s under steady calls (the double's
// setDown(true): listener closed, sockets destroyed, connects refused).
// Every call is decided within LOOKUP_TIMEOUT + 200 ms, measured twice: by the
// router (decision log decideMs) and from outside (AMI: Newexten into Stasis →
// Newexten into sticky-ring/sticky-fallback, on the observer's clock). Returning
// callers are found in the journal. Then, as a harsher variant, 15 s of a
// blackholed cluster (a TCP tap drops everything, nothing is refused or closed):
// lookups hang until their budget runs out. Afterwards the journal drains and the CDRs in
// Elasticsearch are exactly the CDRs Asterisk produced: 0 lost, 0 duplicated.
import { DateTime } from 'luxon';
import { Journal } from '../../src/cdr/journal.js';
import { historyDoc, seedHistory, prepareIndices } from '../support/history.js';
import { journalBacklog, journalCdrs } from '../support/cdr.js';
import { waitChannelsGone } from '../support/harness.js';
import { startTcpTap } from '../support/tcp-tap.js';
import { CallLoad, esAccounting, fmtMs, freshDataDir, inboundChannels, nanp, pct, producedCdrs, sleep, spawnRouter, stasisTiming, stopRouter, waitUntil, type Ctx, type Scenario } from './lib.js';

const OUTAGE_MS = 60_000;
/** After the refused-connections outage: a blackhole (SYN and data dropped), the slower kind of unreachable. */
const HOLE_MS = 15_000;
const LOOKUP_TIMEOUT_MS = 300;
const BUDGET_MS = LOOKUP_TIMEOUT_MS + 200;

export async function s2EsOutage(ctx: Ctx, sc: Scenario): Promise<void> {
  const double = ctx.cluster.double!;
  const prefix = `${ctx.runId}-s2`;
  await prepareIndices(ctx.cluster.node, prefix);

  // 40 returning callers. Their history is in the cluster and in this router's
  // journal (as already shipped), not in its memory: a new process on an existing
  // DATA_DIR. With the cluster down only the journal can name their agent.
  const known = Array.from({ length: 40 }, (_, i) => ({ number: nanp(2, i), agent: `100${1 + (i % 3)}` }));
  const agentOf = new Map(known.map((k) => [k.number, k.agent]));
  const history = known.map((k, i) => historyDoc(k.number, k.agent, DateTime.utc().minus({ minutes: 3 + (i % 20) })));
  await seedHistory(ctx.cluster.node, prefix, history);
  const dataDir = freshDataDir('s2');
  const j = new Journal(dataDir);
  j.appendMany(history);
  j.markShipped(history.map((h) => h.id));
  j.close();
  const seededIds = new Set(history.map((h) => h.id));

  // The router reaches the double through a TCP tap, for the blackhole phase.
  const esTap = await startTcpTap(Number(new URL(ctx.cluster.node).port));
  const router = await spawnRouter(ctx, 's2-es-outage', { ES_NODE: `http://127.0.0.1:${esTap.port}`, ES_INDEX_PREFIX: prefix, DATA_DIR: dataDir, LOOKUP_TIMEOUT: 'PT0.3S', AGENT_RING_TIMEOUT: 'PT8S' });
  await router.waitForLog((l) => l.msg === 'agent states loaded', 10_000);
  const obsFrom = ctx.observer.events.length;
  const mark = router.lines.length;

  // Two calls a second: every fourth from a returning caller (each calls once, during
  // the outage), the others from new callers who end up in the queue.
  let knownNext = 0;
  let fresh = 0;
  let phase: 'before' | 'outage' | 'after' | 'hole' | 'healed' = 'before';
  const load = new CallLoad((i) => {
    if ((phase === 'outage' || phase === 'hole') && i % 4 === 0 && knownNext < known.length) return { did: '200', caller: known[knownNext++]!.number, talkMs: 1000, timeoutS: 20, tag: 'known' };
    return { did: '200', caller: nanp(2, 1000 + fresh++), talkMs: 400, timeoutS: 20, tag: phase };
  }, 500).start();
  let downAt = 0;
  let upAt = 0;
  let holeAt = 0;
  let liftAt = 0;
  let upStartAt = 0;
  try {
    await sleep(5000);
    await double.setDown(true);
    downAt = Date.now();
    phase = 'outage';
    await sleep(OUTAGE_MS);
    phase = 'after';
    upStartAt = Date.now();
    await double.setDown(false);
    upAt = Date.now();
    await sleep(5000);
    esTap.blackhole(true);
    holeAt = Date.now();
    phase = 'hole';
    await sleep(HOLE_MS);
    esTap.blackhole(false);
    liftAt = Date.now();
    phase = 'healed';
    await sleep(3000);
  } finally {
    await double.setDown(false);
    esTap.blackhole(false);
    await load.stop();
  }
  await waitChannelsGone(30_000).catch(() => undefined);
  await sleep(2000); // the last Cdr events

  // --- decisions during the outage
  const channels = inboundChannels(ctx.observer, obsFrom);
  const ours = new Set(load.placed.map((p) => p.caller));
  const views = [...channels.values()].filter((v) => ours.has(v.caller));
  const outageViews = views.filter((v) => v.createdAt >= downAt && v.createdAt < upAt);
  const holeViews = views.filter((v) => v.createdAt >= holeAt && v.createdAt < liftAt);
  // Sticky calls are logged when the ring ends: wait for every decision.
  await waitUntil(() => views.every((v) => router.lines.some((l) => l.event === 'decision' && l.channel === v.uniqueid)), 40_000, 250);
  const decisionOf = new Map(router.lines.slice(mark).filter((l) => l.event === 'decision').map((l) => [String(l.channel), l]));
  const missing = outageViews.filter((v) => !decisionOf.has(v.uniqueid));
  sc.check('every call that reached the router during the outage has a decision', missing.length === 0 && outageViews.length > 0, `${outageViews.length - missing.length}/${outageViews.length}`);
  const decideMs = outageViews.map((v) => Number(decisionOf.get(v.uniqueid)?.decideMs ?? NaN));
  const external = outageViews.map((v) => {
    const t = stasisTiming(ctx.observer, v);
    return t.stasisAt !== undefined && t.routedAt !== undefined ? t.routedAt - t.stasisAt : NaN;
  });
  const overInternal = decideMs.filter((m) => !(m <= BUDGET_MS));
  const overExternal = external.filter((m) => !(m <= BUDGET_MS));
  sc.check(`decideMs ≤ LOOKUP_TIMEOUT + 200 ms (${BUDGET_MS} ms) for every call during the outage`, overInternal.length === 0, `max ${fmtMs(Math.max(...decideMs))}, ${overInternal.length} over`);
  sc.check(`AMI Stasis → sticky-* ≤ ${BUDGET_MS} ms for every call during the outage`, overExternal.length === 0, `max ${fmtMs(Math.max(...external))}, ${overExternal.length} over or unmeasured`);

  // The blackhole phase: each lookup waits for its budget, then the journal answers.
  const holeDecide = holeViews.map((v) => Number(decisionOf.get(v.uniqueid)?.decideMs ?? NaN));
  const holeExternal = holeViews.map((v) => {
    const t = stasisTiming(ctx.observer, v);
    return t.stasisAt !== undefined && t.routedAt !== undefined ? t.routedAt - t.stasisAt : NaN;
  });
  const holeMissing = holeViews.filter((v) => !decisionOf.has(v.uniqueid));
  sc.check(`ES blackholed ${HOLE_MS / 1000} s: every call decided within ${BUDGET_MS} ms (decideMs and AMI)`, holeViews.length > 0 && holeMissing.length === 0 && holeDecide.every((m) => m <= BUDGET_MS) && holeExternal.every((m) => m <= BUDGET_MS), `${holeViews.length - holeMissing.length}/${holeViews.length} decided; decideMs max ${fmtMs(Math.max(...holeDecide))}, AMI max ${fmtMs(Math.max(...holeExternal))}`);
  const knownCalls = [...outageViews, ...holeViews].filter((v) => agentOf.has(v.caller));
  // A lookup still waiting when the cluster comes back may get its answer from it:
  // only calls that entered Stasis at least one budget before the end of a phase must come from the journal.
  const settled = (v: (typeof knownCalls)[number]) => {
    const at = stasisTiming(ctx.observer, v).stasisAt ?? v.createdAt;
    return (at >= downAt && at < upStartAt - LOOKUP_TIMEOUT_MS) || (at >= holeAt && at < liftAt - LOOKUP_TIMEOUT_MS);
  };
  const strict = knownCalls.filter(settled);
  const rightAgent = knownCalls.filter((v) => decisionOf.get(v.uniqueid)?.agent === agentOf.get(v.caller));
  const fromJournal = strict.filter((v) => {
    const d = decisionOf.get(v.uniqueid);
    return d && d.agent === agentOf.get(v.caller) && (d.lookup as { source?: string }).source === 'journal';
  });
  const knownReasons = new Map<string, number>();
  for (const v of knownCalls) {
    const r = String(decisionOf.get(v.uniqueid)?.reason);
    knownReasons.set(r, (knownReasons.get(r) ?? 0) + 1);
  }
  sc.check('returning callers during the outage and the blackhole reach their own agent', knownCalls.length >= 30 && rightAgent.length === knownCalls.length, `${rightAgent.length}/${knownCalls.length} (reasons: ${[...knownReasons].map(([k, v]) => `${k} ${v}`).join(', ')})`);
  sc.check('…found in the journal while the cluster was unreachable', strict.length >= 28 && fromJournal.length === strict.length, `${fromJournal.length}/${strict.length} (${knownCalls.length - strict.length} placed in the last ${LOOKUP_TIMEOUT_MS} ms of an outage not counted: their lookup may end after the cluster is back)`);
  const esTried = router.lines.slice(mark).filter((l) => l.msg === 'lookup layer failed' && l.source === 'elasticsearch').length;

  // --- the journal drains and ES holds exactly what Asterisk produced
  const drained = await waitUntil(() => journalBacklog(dataDir).backlog === 0, 60_000, 500);
  const drainMs = Date.now() - liftAt;
  sc.check('journal backlog drains to 0 after the cluster is back', drained, `backlog ${journalBacklog(dataDir).backlog}`);
  await sleep(1500);
  const produced = producedCdrs(ctx.observer, (e) => ours.has(e.Source ?? ''), obsFrom);
  const journaled = journalCdrs(dataDir, (d) => !seededIds.has(d.id) && ours.has(d.asterisk.src));
  const journalIds = new Set(journaled.map((d) => d.id));
  const notJournaled = [...produced.keys()].filter((id) => !journalIds.has(id));
  sc.check('every CDR Asterisk produced is in the journal', notJournaled.length === 0, `${journaled.length} journaled / ${produced.size} produced`);
  const acc = esAccounting(ctx, prefix, produced, (d) => ours.has(String((d.asterisk as { src?: string })?.src)), seededIds);
  sc.check('CDRs in Elasticsearch = CDRs produced: 0 lost', acc.lost.length === 0 && acc.inEs === acc.produced, `${acc.inEs} in ES / ${acc.produced} produced, ${acc.lost.length} lost, ${acc.extra.length} unexpected`);
  sc.check('0 duplicated (by _id across daily indices, and by asterisk.uniqueid)', acc.dupIds === 0 && acc.dupUniqueid === 0, `dup _id ${acc.dupIds}, dup uniqueid ${acc.dupUniqueid}`);
  sc.check('router process still running', router.proc.exitCode === null);

  sc.figure('outage', `${Math.round((upAt - downAt) / 1000)} s (setDown(true): connections refused)`);
  const bounds = [0, downAt, upAt, holeAt, liftAt, Infinity];
  sc.figure('calls placed (before / outage / between / blackhole / after)', bounds.slice(0, -1).map((from, k) => load.placed.filter((p) => p.startedAt >= from && p.startedAt < bounds[k + 1]!).length).join(' / '));
  sc.figure('calls decided during the outage', `${outageViews.length - missing.length} of ${outageViews.length} that reached Stasis`);
  sc.figure('decideMs during the outage (p50 / p95 / max)', `${fmtMs(pct(decideMs, 50))} / ${fmtMs(pct(decideMs, 95))} / ${fmtMs(Math.max(...decideMs))}`);
  sc.figure('AMI Stasis → sticky-* during the outage (p50 / p95 / max)', `${fmtMs(pct(external, 50))} / ${fmtMs(pct(external, 95))} / ${fmtMs(Math.max(...external))}`);
  sc.figure(`ES blackholed (tap drops everything, nothing closed): ${Math.round((liftAt - holeAt) / 1000)} s — calls decided`, `${holeViews.length - holeMissing.length}/${holeViews.length}`);
  sc.figure('decideMs while blackholed (p50 / p95 / max)', `${fmtMs(pct(holeDecide, 50))} / ${fmtMs(pct(holeDecide, 95))} / ${fmtMs(Math.max(...holeDecide))}`);
  sc.figure('AMI Stasis → sticky-* while blackholed (p50 / p95 / max)', `${fmtMs(pct(holeExternal, 50))} / ${fmtMs(pct(holeExternal, 95))} / ${fmtMs(Math.max(...holeExternal))}`);
  sc.figure('returning callers (outage + blackhole) routed from the journal', `${fromJournal.length}/${strict.length}`);
  sc.figure('Elasticsearch lookups that failed over to the journal (log lines)', esTried);
  sc.figure('blackhole lifted → journal backlog 0', fmtMs(drainMs));
  sc.figure('CDRs produced by Asterisk / journaled / in Elasticsearch', `${produced.size} / ${journaled.length} / ${acc.inEs}`);
  sc.figure('lost / duplicated (_id) / duplicated (uniqueid)', `${acc.lost.length} / ${acc.dupIds} / ${acc.dupUniqueid}`);
  await stopRouter(router);
  await esTap.close();
}
