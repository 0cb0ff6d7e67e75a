// Distinct AMI Cdr events for the micro-benchmarks, cloned from the project's
// real-shaped fixtures (test/support/fixtures/cdrs.ts) with fresh ids, numbers and
// times, as objects and as AMI wire text.
import * as fixtures from '../../support/fixtures/cdrs.js';

export type CdrEvent = Record<string, string>;

const templates: CdrEvent[] = (['queueAnsweredBy1002', 'queueNotAnsweredBy1001', 'agentOutbound', 'internalCall', 'unanswered'] as const).map(
  (k) => fixtures[k] as unknown as CdrEvent,
);

const wall = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** n events ending 50 ms apart, from `endFrom` (epoch ms) on; `salt` keeps ids distinct between sets. */
export function cdrEvents(n: number, salt = 0, endFrom = Date.now() - 3600_000): CdrEvent[] {
  const out: CdrEvent[] = [];
  for (let i = 0; i < n; i++) {
    const e: CdrEvent = { ...templates[i % templates.length]! };
    const seq = salt * 10_000_000 + i;
    const customer = `+1212${String(seq % 10_000_000).padStart(7, '0')}`;
    if (e.Source?.startsWith('+')) e.Source = customer;
    if (e.Destination?.startsWith('+')) e.Destination = customer;
    if (e.CallerID?.includes('+')) e.CallerID = `"${customer}" <${customer}>`;
    const hex = seq.toString(16).padStart(8, '0');
    if (e.Channel) e.Channel = e.Channel.replace(/-[0-9a-f]+$/, `-${hex}`);
    if (e.DestinationChannel) e.DestinationChannel = e.DestinationChannel.replace(/-[0-9a-f]+$/, `-${hex}`);
    const end = endFrom + i * 50;
    const dur = Number(e.Duration ?? 0) || 1;
    e.StartTime = wall(end - dur * 1000);
    if (e.AnswerTime) e.AnswerTime = wall(end - Number(e.BillableSeconds ?? 0) * 1000);
    e.EndTime = wall(end);
    e.UniqueID = `${Math.floor(end / 1000)}.${seq}`;
    out.push(e);
  }
  return out;
}

export const toAmiWire = (events: CdrEvent[]): Buffer =>
  Buffer.from(events.map((e) => `${Object.entries(e).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`).join(''));

/** n events as one wire buffer and as one buffer per event. */
export function cdrWire(n: number): { events: CdrEvent[]; wire: Buffer; perEvent: Buffer[] } {
  const events = cdrEvents(n);
  return { events, wire: toAmiWire(events), perEvent: events.map((e) => toAmiWire([e])) };
}
