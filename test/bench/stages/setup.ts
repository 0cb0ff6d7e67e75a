// Stages 1 and 2 on the real PBX: call set-up through the router versus DID 999's
// plain Dial(PJSIP/1002), and the router's own StasisStart → continue time per
// lookup source.
//
// One sipp customer process per run places strictly sequential calls (-l 1) from an
// injection file, interleaving for each k:
//   A  caller J_k → DID 100 (router; J_k's history, agent 1002, is in the journal) talks 1.05 s
//   B  caller B_k → DID 999 (plain dialplan Dial(PJSIP/1002,15)), talks 0.1 s
//   C  caller J_k → DID 100 again right after A's bridged call (the router's memory knows 1002)
// Agent 1002's phone is a sipp UAS with -trace_msg. Set-up = the agent phone's
// "INVITE received" stamp minus the customer's "INVITE sent" stamp (both sipp,
// microseconds, the same wall clock), matched by the caller number in From.
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { installTemplate } from '../../../src/cdr/index-template.js';
import { historyDoc } from '../../support/history.js';
import { runCallers, userOf, type CallLine, type SipMessage } from '../../support/sipp.js';

export const TALK_FIRST_MS = 1050; // ≥ MIN_TALK_SECONDS (1 s): the bridged call teaches the router's memory
export const TALK_MS = 100;
export const GAP_MS = 150; // after each call: the agent's endpoint is idle again before the next call

export const journalCaller = (run: number, k: number) => `+1202555${String(1000 + run * 100 + k).padStart(4, '0')}`;
export const baselineCaller = (run: number, k: number, set = 0) => `+1303555${String(set * 1000 + run * 100 + k).padStart(4, '0')}`;
export const esCaller = (run: number, k: number) => `+1404555${String(1000 + run * 100 + k).padStart(4, '0')}`;
export const minimalCaller = (run: number, k: number, subscribed = false) => `+1${subscribed ? 606 : 505}555${String(1000 + run * 100 + k).padStart(4, '0')}`;

/** History for the journal callers of every run: each talked to 1002 five minutes ago. */
export function journalHistory(runs: number, perRun: number) {
  const at = DateTime.utc().minus({ minutes: 5 });
  const docs = [];
  for (let r = 0; r < runs; r++) for (let k = 0; k < perRun; k++) docs.push(historyDoc(journalCaller(r, k), '1002', at));
  return docs;
}

export async function seedEsHistory(node: string, prefix: string, runs: number, perRun: number): Promise<void> {
  const client = new Client({ node });
  try {
    await installTemplate(client, prefix);
    const at = DateTime.utc().minus({ minutes: 5 });
    const docs = [];
    for (let r = 0; r < runs; r++) for (let k = 0; k < perRun; k++) docs.push(historyDoc(esCaller(r, k), '1002', at));
    const ops = docs.flatMap((d) => [{ index: { _index: `${prefix}-${DateTime.fromISO(d['@timestamp']).toUTC().toFormat('yyyy.MM.dd')}`, _id: d.id } }, d]);
    const res = await client.bulk({ operations: ops, refresh: true });
    if (res.errors) throw new Error('seeding the ES double failed');
  } finally {
    await client.close();
  }
}

/** Runs one interleaved sequence, strictly one call at a time, with a message trace. */
export async function runSequence(lines: CallLine[], dir: string): Promise<{ uac: SipMessage[]; failed: number; ok: number }> {
  const r = await runCallers(lines, dir, { rate: 50, limit: 1, trace: true, timeoutS: 30 + lines.length * 3 });
  return { uac: r.messages, failed: Number.isFinite(r.failed) ? r.failed : lines.length - r.ok.length, ok: r.ok.length };
}

export function journalMemoryLines(run: number, perRun: number): CallLine[] {
  const lines: CallLine[] = [];
  for (let k = 0; k < perRun; k++) {
    lines.push({ caller: journalCaller(run, k), did: '100', talkMs: TALK_FIRST_MS, gapMs: GAP_MS });
    lines.push({ caller: baselineCaller(run, k), did: '999', talkMs: TALK_MS, gapMs: GAP_MS });
    lines.push({ caller: journalCaller(run, k), did: '100', talkMs: TALK_MS, gapMs: GAP_MS });
  }
  return lines;
}

export function minimalLines(run: number, perRun: number, subscribed: boolean): CallLine[] {
  const lines: CallLine[] = [];
  for (let k = 0; k < perRun; k++) {
    lines.push({ caller: minimalCaller(run, k, subscribed), did: '100', talkMs: TALK_MS, gapMs: GAP_MS });
    lines.push({ caller: baselineCaller(run, k, subscribed ? 4 : 3), did: '999', talkMs: TALK_MS, gapMs: GAP_MS });
  }
  return lines;
}

export function esLines(run: number, perRun: number): CallLine[] {
  const lines: CallLine[] = [];
  for (let k = 0; k < perRun; k++) {
    lines.push({ caller: esCaller(run, k), did: '100', talkMs: TALK_MS, gapMs: GAP_MS });
    lines.push({ caller: baselineCaller(run, k, 5), did: '999', talkMs: TALK_MS, gapMs: GAP_MS });
  }
  return lines;
}

/**
 * Set-up times per caller, in call order: each customer INVITE (first transmission)
 * paired with the agent phone's INVITE for the same caller (a caller who calls twice
 * has two of each). NaN where the phone never got the INVITE.
 */
export function setupTimes(uac: SipMessage[], phone: SipMessage[]): Map<string, number[]> {
  const firstInvites = (msgs: SipMessage[], direction: 'sent' | 'received') => {
    const byCaller = new Map<string, number[]>();
    const seen = new Set<string>();
    for (const m of msgs) {
      if (m.direction !== direction || !m.firstLine.startsWith('INVITE ')) continue;
      const cid = m.headers['call-id'] ?? '';
      if (seen.has(cid)) continue; // a retransmission
      seen.add(cid);
      const caller = userOf(m.headers.from);
      if (caller) (byCaller.get(caller) ?? byCaller.set(caller, []).get(caller)!).push(m.at);
    }
    return byCaller;
  };
  const sent = firstInvites(uac, 'sent');
  const got = firstInvites(phone, 'received');
  const out = new Map<string, number[]>();
  for (const [caller, s] of sent) {
    const g = got.get(caller) ?? [];
    out.set(caller, s.map((t, i) => (g[i] !== undefined ? g[i] - t : NaN)));
  }
  return out;
}
