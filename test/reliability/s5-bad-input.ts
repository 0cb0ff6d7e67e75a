// 5. Bad input: 500+ hostile or odd caller IDs sent as real SIP From headers
// (sipp with an injection file, concurrent batches), plus folded headers and
// sticky-ring abandons whose caller text goes out in a QueueLog action. No crash,
// every call that reached the router gets a decision, nothing a caller sent
// reaches AMI as a line of its own, and no lookup uses regexp/wildcard/
// query_string (the double's request log).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DateTime } from 'luxon';
import { Journal } from '../../src/cdr/journal.js';
import { historyDoc, seedHistory, prepareIndices } from '../support/history.js';
import { journalBacklog, journalCdrs } from '../support/cdr.js';
import { waitChannelsGone } from '../support/harness.js';
import { call, parseTrace } from '../support/sipp.js';
import { badCallers, foldedCallers, type BadCaller } from './bad-callers.js';
import { deepKeys, forbiddenQueryKeys, parseAmiWire } from './ami-wire.js';
import { fmtMs, inboundChannels, pct, sleep, spawnRouter, stasisTiming, stopRouter, waitUntil, type Ctx, type Scenario } from './lib.js';
import { ref } from './lib.js';

const sippDir = resolve(import.meta.dirname, 'sipp');
const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
const BATCH = 100;

/** One sipp process placing every row of `lines` (injection-file lines), `limit` at a time. */
function sippInjected(ctx: Ctx, scenario: string, lines: string[], tag: string, talkMs = 300): Promise<{ code: number | null; msgFile: string }> {
  const inf = join(ctx.outDir, `${tag}.csv`);
  writeFileSync(inf, `SEQUENTIAL\n${lines.join('\n')}\n`);
  const msgFile = join(ctx.outDir, `${tag}.msg`);
  const args = [
    '127.0.0.1:5060', '-sf', join(sippDir, scenario), '-inf', inf, '-i', '127.0.0.1', '-key', 'talk_ms', String(talkMs),
    '-m', String(lines.length), '-l', '40', '-r', '40', '-nostdin', '-timeout', '90', '-max_invite_retrans', '2',
    '-trace_msg', '-message_file', msgFile, '-trace_err', '-error_file', join(ctx.outDir, `${tag}.err`),
  ];
  const proc = spawn('sipp', args, { stdio: 'ignore' });
  return new Promise((res) => proc.on('exit', (code) => res({ code, msgFile })));
}

/** Final responses to INVITEs per DID (from the To header), as sipp received them. */
function finalResponses(msgFile: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!existsSync(msgFile)) return out;
  for (const m of parseTrace(readFileSync(msgFile, 'latin1')).filter((x) => x.direction === 'received')) {
    const status = /^SIP\/2\.0 (\d{3})/.exec(m.firstLine)?.[1];
    if (!status || Number(status) < 200 || !/INVITE/.test(m.headers.cseq ?? '')) continue;
    const did = /sip:([^@]+)@/.exec(m.headers.to ?? '')?.[1];
    if (did) out.set(did, Number(status));
  }
  return out;
}

export async function s5BadInput(ctx: Ctx, sc: Scenario): Promise<void> {
  const double = ctx.cluster.double!;
  const prefix = `${ctx.runId}-s5`;
  await prepareIndices(ctx.cluster.node, prefix);
  // Returning callers that only odd spellings reach (separators, 00/national forms with DEFAULT_COUNTRY=UA).
  const seeded = new Map([
    ['+12025550110', '1001'],
    ['+12025550111', '1002'],
    ['+442079460958', '1003'],
    ['+380961234567', '1002'],
  ]);
  await seedHistory(ctx.cluster.node, prefix, [...seeded].map(([n, a]) => historyDoc(n, a, DateTime.utc().minus({ minutes: 6 }))));

  const router = await spawnRouter(ctx, 's5-bad-input', { ES_INDEX_PREFIX: prefix, DEFAULT_COUNTRY: 'UA', AGENT_RING_TIMEOUT: 'PT8S' });
  let exited: string | undefined;
  router.proc.once('exit', (code, signal) => (exited = `code ${code} signal ${signal}`));
  await router.waitForLog((l) => l.msg === 'agent states loaded', 10_000);
  const obsFrom = ctx.observer.events.length;
  const esFrom = double.requests.length;
  const mark = router.lines.length;
  const wireBefore = parseAmiWire(ctx.amiTap).actions.length;

  const rows = badCallers(520);
  const folded = foldedCallers();
  const t0 = Date.now();
  const responses = new Map<string, number>();
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const r = await sippInjected(ctx, 'caller-inf.xml', batch.map((b) => `${b.did};${b.display};${b.user}`), `s5-batch-${i / BATCH + 1}`);
    for (const [k, v] of finalResponses(r.msgFile)) responses.set(k, v);
  }
  const f = await sippInjected(ctx, 'caller-folded.xml', folded.map((b) => `${b.did};${b.display};${b.user};${b.fold}`), 's5-folded');
  for (const [k, v] of finalResponses(f.msgFile)) responses.set(k, v);
  // Sticky-ring abandons: the caller hangs up while their agent rings, so the router
  // writes ENTERQUEUE/ABANDON through AMI QueueLog with the caller's text in Message.
  const cancels = ['+1%20(202)%20555-0110', '+1.202.555.0111', '+44-20-7946-0958', '0961234567'];
  const cancelResults = [];
  for (const [k, c] of cancels.entries()) cancelResults.push(await call(String(6_200_000 + k), c, { cancelAfterMs: 50, timeoutS: 15 }));
  const sentMs = Date.now() - t0;
  await waitChannelsGone(30_000).catch(() => undefined);
  await sleep(1500);

  // AMI field injection, the other direction: Asterisk decodes %0D%0A in the From
  // user into the caller number and writes it unescaped into AMI event values, and
  // the AMI parser keeps the last of duplicate keys. In a Cdr event CallerID comes
  // after Source, so a caller number "anonymous<CR><LF>Source: <victim>" makes the
  // CDR of the caller's own conversation with an agent name the victim as the
  // customer. Probe: such a caller talks to a queue agent for ~3 s, then the victim
  // (who never called before) calls.
  const victim = '+12025550177';
  const forgeDid = '6400001';
  // The trailing field swallows the ">" that closes CallerID ("name" <number>).
  const forgedUser = encodeURIComponent(`anonymous\r\nSource: ${victim}\r\nX: `);
  await sippInjected(ctx, 'caller-inf.xml', [`${forgeDid};;${forgedUser}`], 's5-forge', 3000);
  await waitChannelsGone(15_000).catch(() => undefined);
  await waitUntil(() => journalCdrs(router.dataDir, (d) => d.did === forgeDid).length > 0, 8000, 250);
  const forgedDocs = journalCdrs(router.dataDir, (d) => d.asterisk.src.startsWith(victim) || d.customer_e164 === victim);
  const victimMark = router.lines.length;
  await call('6400002', victim, { talkMs: 500, timeoutS: 15 });
  const victimDecision = await router.waitForLog((l) => l.event === 'decision' && (l.caller as { raw?: string })?.raw === victim && router.lines.indexOf(l) >= victimMark, 15_000, 'victim decision').catch(() => undefined);
  await waitChannelsGone(15_000).catch(() => undefined);

  const all: BadCaller[] = [...rows, ...folded, ...cancels.map((c, k) => ({ did: String(6_200_000 + k), display: '', user: c, kind: 'sticky-ring abandon' })), { did: forgeDid, display: '', user: forgedUser, kind: 'crlf (AMI field injection probe)' }];
  const byDid = new Map(all.map((r) => [r.did, r]));
  const channels = [...inboundChannels(ctx.observer, obsFrom).values()].filter((v) => byDid.has(v.exten));
  const chanByDid = new Map(channels.map((v) => [v.exten, v]));
  const inStasis = channels.filter((v) => stasisTiming(ctx.observer, v).stasisAt !== undefined);
  // Reached the router = the observer saw the channel enter Stasis, or Asterisk answered the
  // call (200 OK: only after the router's decision or the dialplan fallback). The observer
  // alone is not enough: a caller number can cut the AMI events that carry it (see below).
  const reachedDids = new Set([...inStasis.map((v) => v.exten), ...all.filter((r) => responses.get(r.did) === 200).map((r) => r.did)]);
  const decidedDids = () => new Set(router.lines.slice(mark).filter((l) => l.event === 'decision').map((l) => String(l.did)));
  await waitUntil(() => [...reachedDids].every((d) => decidedDids().has(d)), 45_000, 250);
  const decisionByDid = new Map(router.lines.slice(mark).filter((l) => l.event === 'decision').map((l) => [String(l.did), l]));
  const undecided = [...reachedDids].filter((d) => !decisionByDid.has(d));
  const unrouted = inStasis.filter((v) => !stasisTiming(ctx.observer, v).routedTo);

  sc.check('at least 500 generated caller IDs sent as SIP From headers', rows.length >= 500, `${rows.length} + ${folded.length} folded + ${cancels.length} abandons`);
  sc.check('router never crashed or exited', exited === undefined && router.proc.exitCode === null, exited ?? 'running');
  sc.check('every call that reached the router got a decision', undecided.length === 0 && reachedDids.size > 0, `${reachedDids.size - undecided.length}/${reachedDids.size}${undecided.length ? `; missing: ${undecided.slice(0, 5).map((d) => JSON.stringify(byDid.get(d)?.user)).join(', ')}` : ''}`);
  sc.check('every call that reached Stasis left it for sticky-ring/sticky-fallback', unrouted.length === 0, `${inStasis.length - unrouted.length}/${inStasis.length}`);
  const failedStarts = router.lines.slice(mark).filter((l) => l.msg === 'stasis start failed' || l.msg === 'ari frame ignored' || l.level === 'fatal');
  sc.check('no "stasis start failed", "ari frame ignored" or fatal lines', failedStarts.length === 0, `${failedStarts.length}`);
  const decided = [...reachedDids].map((d) => decisionByDid.get(d)).filter((d): d is Record<string, unknown> => !!d);
  // eslint-disable-next-line no-control-regex -- control characters are what this looks for
  const rawWithControl = decided.filter((d) => /[\u0000-\u001f\u007f]/.test(String((d.caller as { raw?: string }).raw ?? '')));
  sc.check('no decision carries a control character (CR/LF/NUL…) in caller.raw', rawWithControl.length === 0, `${rawWithControl.length}`);
  // What this checks is the number's normalisation: every odd spelling finds the caller's
  // own agent, none another's. A lookup that ran out of its budget on a loaded machine
  // (lookup_failed, no agent) is counted apart: it is not a wrong agent.
  const seededHits = decided.filter((d) => seeded.has(String((d.caller as { e164?: string }).e164)));
  const seededWrong = seededHits.filter((d) => d.agent !== undefined && d.agent !== seeded.get(String((d.caller as { e164?: string }).e164)));
  const seededTimedOut = seededHits.filter((d) => d.reason === 'lookup_failed');
  const seededRight = seededHits.filter((d) => d.agent === seeded.get(String((d.caller as { e164?: string }).e164)));
  sc.check('odd spellings of a returning caller still reach their own agent, never another\'s', seededWrong.length === 0 && seededRight.length >= 6, `${seededRight.length}/${seededHits.length} their own agent, ${seededWrong.length} another's, ${seededTimedOut.length} lookups over budget`);
  const maxDecide = Math.max(...decided.map((d) => Number(d.decideMs ?? 0)));

  // AMI: what the router wrote, over the whole run so far.
  const wire = parseAmiWire(ctx.amiTap);
  const queueLogs = wire.actions.slice(wireBefore).filter((a) => a.action === 'QueueLog');
  const enterMsgs = queueLogs.filter((a) => a.fields.some(([k, v]) => k === 'Event' && v === 'ENTERQUEUE')).map((a) => a.fields.find(([k]) => k === 'Message')?.[1] ?? '');
  sc.check('nothing a caller sent reached AMI as a line of its own: every action the router wrote is Login/Ping/QueueLog/Filter/QueueStatus/GetConfig/CoreSettings/Logoff with known keys', wire.problems.length === 0, wire.problems.length ? wire.problems.slice(0, 5).join(' | ') : `${wire.actions.length} actions parsed`);
  sc.check('the sticky-ring abandons wrote QueueLog with the caller text (the caller-controlled AMI path was exercised)', enterMsgs.length >= 3, enterMsgs.map((m) => JSON.stringify(m)).join(', '));

  const forged = forgedDocs.filter((d) => d.did === forgeDid);
  const forgedTalk = forged.find((d) => d.talked) ?? forged[0];
  sc.check('no CDR is attributed to a number that did not place the call (CR/LF in the caller number → AMI field injection)', forgedDocs.length === 0, forgedDocs.length ? `${forgedDocs.length} journaled CDR(s) name ${victim} as the customer; ${forged.length} of them from the call placed by "anonymous\\r\\nSource: ${victim}\\r\\nX: " (agent ${forged.map((d) => d.agent ?? '-').join(',')}, talked ${forged.map((d) => d.talked).join(',')}, clid ${JSON.stringify(forged[0]?.asterisk.clid ?? '')})` : '0');
  sc.check(`a number that never called (${victim}) is not routed by a forged history`, victimDecision?.reason === 'no_history', victimDecision ? `reason ${String(victimDecision.reason)}, agent ${String(victimDecision.agent ?? '-')}, lookup source ${String((victimDecision.lookup as { source?: string }).source ?? '-')}` : 'no decision');
  if (forgedDocs.length > 0) {
    sc.bug(
      `AMI field injection from a SIP caller forges CDRs and steers routing: a From user "anonymous%0D%0ASource:%20${victim}%0D%0AX:%20" reaches Asterisk's caller number with the CR/LF decoded; Asterisk writes it unescaped into AMI event values; asterisk-ami-client splits it into extra fields and keeps the last of duplicate keys, and in a Cdr event CallerID comes after Source — so the CDR of the attacker's own answered queue call names ${victim} as the customer (journal: customer_e164 ${victim}, agent ${forgedTalk?.agent ?? '?'}, talked ${forgedTalk?.talked ?? '?'}, talk_seconds ${forgedTalk?.talk_seconds ?? '?'}; clid ${JSON.stringify(forgedTalk?.asterisk.clid ?? '')}), it is shipped to Elasticsearch, and ${victimDecision?.reason === 'no_history' ? 'in this run the victim was still routed no_history' : `the victim's first call was routed ${String(victimDecision?.reason)} to agent ${String(victimDecision?.agent)} from that forged history`}. ` +
        `Any event carrying the caller number can be given other fields the same way (e.g. "Event: Cdr" injected into Newchannel, limited by Asterisk's 80-character number). Where: ${ref('src/ami/connection.ts', "client.on('event'")} forwards the library's parsed objects as is; ${ref('src/cdr/ingest.ts', 'const forged = forgedCdr(e)')} (CdrIngest, fed by ${ref('src/cdr/ingest.ts', "if (e.Event === 'Cdr') this.ingest(e)")}) let this one through its forged-event check (${ref('src/cdr/from-ami.ts', 'export function forgedCdr')}); ${ref('src/cdr/from-ami.ts', "const src = f('Source')")} trusts Source. ` +
        'Suggested fix: parse AMI frames yourself (or hook asterisk-ami-connector\'s raw frames) and drop any event that repeats a key; accept a Cdr only with exactly the cdr_manager key set and Privilege cdr,all; cross-check that CallerID ends with "<Source>"; in the dialplan, strip control characters from CALLERID(num)/CALLERID(name) first thing in [from-trunk] (FILTER()); and report the unescaped CR/LF in AMI event values to Asterisk (security).',
    );
  }

  // Elasticsearch: every lookup a plain bool of term/range filters on an E.164 number.
  const searches = double.requests.slice(esFrom).filter((r) => r.path.endsWith('/_search'));
  const bad = searches.filter((r) => deepKeys(r.body).some((k) => forbiddenQueryKeys.includes(k)) || r.query.q !== undefined);
  const terms = searches.flatMap((r) => JSON.stringify(r.body).match(/"customer_e164":"[^"]*"/g) ?? []).map((s) => s.slice(17, -1));
  const nonE164 = terms.filter((t) => !/^\+[1-9]\d{1,14}$/.test(t));
  sc.check('no lookup used regexp/wildcard/query_string/prefix/fuzzy/match/script or ?q=', bad.length === 0 && searches.length > 0, `${bad.length} of ${searches.length} searches`);
  sc.check('every lookup term is an E.164 number', nonE164.length === 0, `${terms.length} terms, ${nonE164.length} not E.164${nonE164.length ? `: ${nonE164.slice(0, 3).join(', ')}` : ''}`);

  // The hostile text also lands in CDRs (CallerID, display name): journaled and shipped, none refused.
  await waitUntil(() => journalBacklog(router.dataDir).backlog === 0, 30_000, 500);
  const dids = new Set(all.map((r) => r.did));
  const journaled = journalCdrs(router.dataDir, (d) => d.did !== undefined && dids.has(d.did));
  // Every decided call must have left at least one CDR (Asterisk writes one per call).
  const cdrUniqueids = new Set(journalCdrs(router.dataDir).map((d) => d.asterisk.uniqueid));
  const noCdr = decided.filter((d) => !cdrUniqueids.has(String(d.channel)));
  const noCdrRows = noCdr.map((d) => byDid.get(String(d.did))).filter((r): r is BadCaller => !!r);
  sc.check('every call that reached the router left a CDR in the journal', noCdr.length === 0, noCdr.length ? `${noCdr.length} without a CDR; From users: ${noCdrRows.slice(0, 4).map((r) => JSON.stringify(safeDecode(r.user))).join(', ')}` : `${decided.length}/${decided.length}`);
  if (noCdr.length > 0) {
    sc.bug(
      `A caller can make their own CDR disappear: ${noCdr.length} call(s) reached the router and were decided, yet no CDR for them reached the journal or Elasticsearch (From users ${noCdrRows.slice(0, 3).map((r) => JSON.stringify(safeDecode(r.user))).join(', ')}). ` +
        `An escaped CR/LF pair in the From user becomes a blank line inside every AMI event that carries the caller number; AMI ends an event at a blank line, so the Cdr event is cut in two: the first part has no UniqueID/EndTime (cdrFromAmiEvent returns undefined, ${ref('src/cdr/from-ami.ts', 'if (!uniqueid || !end)')}), the rest has no Event key (dropped at ${ref('src/ami/connection.ts', "typeof e.Event !== 'string'")}). ` +
        'The same cut hides DialEnd/Hangup from the ring tracker (decision logged late, ring outcome wrong). Fix as for the field injection (strip control characters from the caller ID in [from-trunk] before anything else; validate AMI frames); additionally reconcile CDRs against the calls the router decided (every decided channel should produce a CDR) and alert on gaps.',
    );
  }
  const jr = new Journal(router.dataDir, { readonly: true });
  const rejected = jr.rejected();
  jr.close();
  sc.check('CDRs of these calls journaled and shipped; none refused by the cluster', rejected === 0 && journalBacklog(router.dataDir).backlog === 0, `${journaled.length} journaled, ${rejected} rejected`);

  const statusCount = new Map<string, number>();
  for (const r of all) {
    if (chanByDid.has(r.did)) continue;
    const s = responses.get(r.did);
    const k = s === 200 ? 'answered, but the observer never saw the channel (its AMI events were cut by the caller number)' : s ? `SIP ${s}` : 'no response (PJSIP dropped the unparseable INVITE)';
    statusCount.set(k, (statusCount.get(k) ?? 0) + 1);
  }
  const reasons = new Map<string, number>();
  for (const d of decided) reasons.set(String(d.reason), (reasons.get(String(d.reason)) ?? 0) + 1);
  const kinds = new Map<string, number>();
  for (const r of all) {
    const k = r.kind.replace(/ \(.*\)$/, '');
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  sc.figure('caller IDs sent (rows by kind)', `${all.length}: ${[...kinds].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  sc.figure('sent in', `${Math.round(sentMs / 1000)} s (batches of ${BATCH}, 40 concurrent, 40 calls/s)`);
  sc.figure('channels seen by the AMI observer / in Stasis per AMI / reached the router (AMI or 200 OK) / decided', `${channels.length} / ${inStasis.length} / ${reachedDids.size} / ${reachedDids.size - undecided.length}`);
  sc.figure('not seen as a channel by the AMI observer', [...statusCount].map(([k, v]) => `${k}: ${v}`).join('; ') || '0');
  sc.figure('decisions by reason', [...reasons].map(([k, v]) => `${k} ${v}`).join(', '));
  sc.figure('decideMs (p50 / p95 / max)', `${fmtMs(pct(decided.map((d) => Number(d.decideMs ?? 0)), 50))} / ${fmtMs(pct(decided.map((d) => Number(d.decideMs ?? 0)), 95))} / ${fmtMs(maxDecide)}`);
  sc.figure('AMI actions written by the router (whole run so far)', `${wire.actions.length}: ${[...wire.byAction].map(([k, v]) => `${k} ${v}`).join(', ')}; malformed/injected: ${wire.problems.length}`);
  sc.figure('QueueLog ENTERQUEUE messages carrying caller text', enterMsgs.map((m) => JSON.stringify(m)).join(', ') || 'none');
  sc.figure('Elasticsearch searches / with a forbidden clause / distinct E.164 terms', `${searches.length} / ${bad.length} / ${new Set(terms).size}`);
  sc.figure('sticky-ring abandons (sipp CANCEL while the agent rang)', `${cancelResults.filter((r) => r.exitCode === 0).length}/${cancels.length} completed`);
  const crlfRows = all.filter((r) => r.kind.startsWith('crlf'));
  const crlfReached = crlfRows.filter((r) => chanByDid.has(r.did));
  const crlfCallerIds = crlfReached.map((r) => JSON.stringify(chanByDid.get(r.did)!.caller)).slice(0, 8);
  sc.figure('CR/LF attempts: rows / reached Asterisk / caller numbers Asterisk presented', `${crlfRows.length} / ${crlfReached.length} / ${crlfCallerIds.join(' ')}`);
  await stopRouter(router);
}
