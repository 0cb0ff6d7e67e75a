// Turns an AMI `Cdr` event (cdr_manager) into a CdrDocument. Pure: no I/O, no
// clock. The agent is recognised by channel name (PJSIP/<ext>-<seq>), which is
// what tells an inbound queue call (trunk → agent) from an agent's outbound
// call (agent → trunk) and from an internal one (agent → agent).
import { hash } from 'node:crypto';
import type { DateTime } from 'luxon';
import type { CountryCode } from 'libphonenumber-js';
import { normalizeNumber } from '../numbers.js';
import { isoFromMillis, pbxTimes, type PbxTimes } from './pbx-time.js';
import type { CdrDocument, Direction } from './schema.js';
import { callQuality } from './quality.js';

export type AmiFields = Record<string, string | undefined>;

export interface CdrFromAmiOptions {
  /** Matches an agent's channel and captures the extension. Default /^PJSIP\/(\d+)-[0-9a-f]+$/. */
  agentChannelPattern?: RegExp;
  /** Region for customer numbers written without `+` (DEFAULT_COUNTRY). */
  region?: CountryCode;
  /** Minimum billsec for a conversation to count, per DID (a short "wrong number" must not stick). */
  minTalkSeconds: (did: string | undefined) => number;
  /** What the router knows about the call (DID, reason, the agent it rang), keyed by the caller's channel. */
  annotate?: (uniqueid: string, linkedid?: string) => { did?: string; reason?: string; rangAgent?: string; rangPbx?: string } | undefined;
  /** This PBX's name (PBX_NAME or SystemName): the CDR's `pbx`, and the agent's unless the router rang them on another PBX. */
  pbx?: string;
  /** The queue member (agent) who answered this leg of a queue call (AgentConnect). */
  queueMember?: (uniqueid: string, dstchannel: string) => string | undefined;
  /**
   * Seconds the customer was connected to the agent, where Asterisk reports it apart
   * from billsec: queue calls, whose billsec includes the hold (see queue-talk-times.ts).
   */
  connectedSeconds?: (uniqueid: string, dstchannel: string) => number | undefined;
  /**
   * PBX_TIMEZONE: the zone the PBX writes StartTime/AnswerTime/EndTime in. Without it
   * (and without epoch fields) the offset is derived per event (see pbx-time.ts).
   */
  timeZone?: string;
  /** When the router received the event: the reference for deriving the PBX's offset. */
  receivedAt?: DateTime | number;
  /** Told the instants and how they were read (the PBX clock monitor). */
  onTimes?: (t: PbxTimes) => void;
}

// `PJSIP/1002-0000002a`, and the outer leg of a Local channel to an extension
// (`Local/1002@from-queue-0000001f;1`: FreePBX's queue members, ring groups).
export const defaultAgentChannelPattern = /^(?:PJSIP|Local)\/(\d+)(?:@[\w-]+)?-[0-9a-f]+(?:;1)?$/;
/** The inner leg of a Local channel: its CDR repeats the outer leg's call. */
const localInnerLeg = /^Local\/[^;]+;2$/;

// Every key cdr_manager writes (plus the LinkedID mapping and AMI's own). Caller IDs
// reach AMI with CR/LF unescaped; an event that smuggled a "Event: Cdr" line in, or
// a Cdr with fields appended after its caller ID, carries keys outside this set or a
// CallerID that no longer ends with its Source.
// Spelled as this file reads them (and as Asterisk 22's cdr_manager writes them).
const cdrKeySpelling = ['Event', 'Privilege', 'AccountCode', 'Source', 'Destination', 'DestinationContext', 'CallerID', 'Channel', 'DestinationChannel', 'LastApplication', 'LastData', 'StartTime', 'AnswerTime', 'EndTime', 'Duration', 'BillableSeconds', 'Disposition', 'AMAFlags', 'UniqueID', 'UserField', 'LinkedID', 'StickyQosCaller', 'StickyQosAgent', 'StartEpoch', 'AnswerEpoch', 'EndEpoch', 'Recording', 'SystemName', 'Timestamp', 'SequenceNumber', 'File', 'Line', 'Func'];
const cdrKeysExact = new Set(cdrKeySpelling);
const cdrKeys = new Set(cdrKeySpelling.map((k) => k.toLowerCase()));

/** Why an AMI event named Cdr is not one cdr_manager wrote, or undefined when it looks genuine. */
export function forgedCdr(e: AmiFields): string | undefined {
  // The exact spelling first: no lower-casing for the usual event.
  const unexpected = Object.keys(e).filter((k) => !cdrKeysExact.has(k) && !cdrKeys.has(k.toLowerCase()));
  if (unexpected.length > 0) return `unexpected fields ${unexpected.slice(0, 5).join(', ')}`;
  if (e.Privilege !== undefined && !/^cdr,/.test(e.Privilege)) return `privilege ${e.Privilege}`;
  // A field injected after the caller number cuts CallerID short: `"" <anonymous`
  // with the real closing `>` pushed into the forged field. Asterisk also truncates
  // long numbers (so a prefix is fine) and rewrites withheld ones (a complete
  // `<…>` that differs from Source is fine).
  const clid = e.CallerID ?? '';
  const open = clid.lastIndexOf('<');
  if (open >= 0 && !clid.slice(open).includes('>')) {
    const num = clid.slice(open + 1);
    const src = e.Source ?? '';
    if (!src.startsWith(num) && !num.startsWith(src)) return 'CallerID cut short and not matching Source';
  }
  return undefined;
}

/** Returns undefined for anything that is not a usable Cdr event (other event, no UniqueID, no EndTime). */
export function cdrFromAmiEvent(e: AmiFields, opts: CdrFromAmiOptions): CdrDocument | undefined {
  const f = caseInsensitive(e);
  const event = f('Event');
  if (event !== undefined && event.toLowerCase() !== 'cdr') return undefined;

  const uniqueid = f('UniqueID');
  const times = pbxTimes(
    {
      startTime: f('StartTime'),
      answerTime: f('AnswerTime'),
      endTime: f('EndTime'),
      startEpoch: f('StartEpoch'),
      answerEpoch: f('AnswerEpoch'),
      endEpoch: f('EndEpoch'),
      timestamp: f('Timestamp'),
      durationSeconds: int(f('Duration')),
      billableSeconds: int(f('BillableSeconds')),
    },
    { zone: opts.timeZone, receivedAt: opts.receivedAt },
  );
  if (!uniqueid || !times) return undefined;
  opts.onTimes?.(times);
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : isoFromMillis(ms));
  const end = iso(times.endMs)!;
  const start = iso(times.startMs);
  const linkedid = f('LinkedID') || undefined;

  const channel = f('Channel') ?? '';
  const dstchannel = f('DestinationChannel') ?? '';
  const pattern = opts.agentChannelPattern ?? defaultAgentChannelPattern;
  const note = opts.annotate?.(uniqueid, f('LinkedID') || undefined);
  const lastapp = f('LastApplication') ?? '';
  const callerAgent = agentOf(channel, pattern);
  // Who answered: the queue member app_queue named, else the agent the router rang
  // (a member's interface may be a hot-desk phone or a Local channel), else the channel.
  const member = opts.queueMember?.(uniqueid, dstchannel);
  const rang = member === undefined && lastapp === 'Dial' && note?.rangAgent && dstchannel ? note.rangAgent : undefined;
  const calledAgent = member ?? rang ?? agentOf(dstchannel, pattern);
  // A sticky ring through another PBX's trunk (PJSIP/1002@pbx-a): the agent works there.
  const pbx = opts.pbx ?? (f('SystemName') || undefined);
  const calledPbx = rang !== undefined && note?.rangPbx ? note.rangPbx : pbx;

  const src = f('Source') ?? '';
  const dst = f('Destination') ?? '';
  let direction: Direction;
  let agent: string | undefined;
  let customer: string | undefined;
  let agentPbx = pbx;
  if (localInnerLeg.test(channel)) {
    // Local/…;2 → the phone: the same conversation as the caller → Local/…;1 CDR.
    direction = 'internal';
    agent = calledAgent;
    agentPbx = calledPbx;
  } else if (callerAgent && calledAgent) {
    // Agent to agent: no customer; `agent` is the one who placed the call.
    direction = 'internal';
    agent = callerAgent;
  } else if (callerAgent) {
    direction = 'outbound';
    agent = callerAgent;
    customer = dst;
  } else {
    // Trunk → agent (queue, sticky ring) or trunk → nobody (IVR, abandoned in queue).
    direction = 'inbound';
    agent = calledAgent;
    agentPbx = calledPbx;
    customer = src;
  }

  const did = note?.did;
  const billsec = int(f('BillableSeconds'));
  const talkSeconds = Math.min(billsec, opts.connectedSeconds?.(uniqueid, dstchannel) ?? billsec);
  const disposition = f('Disposition') ?? '';
  // An inbound call answered by the IVR alone is ANSWERED too: without an agent it teaches nothing.
  const talked = disposition === 'ANSWERED' && agent !== undefined && talkSeconds >= opts.minTalkSeconds(did);
  // An agent's call the customer did not answer: per-DID learnFromAttempts makes it sticky.
  const attempt = direction === 'outbound' && disposition !== 'ANSWERED' && agent !== undefined && customer !== undefined && customer !== '';

  const number = customer ? normalizeNumber(customer, opts.region) : undefined;
  const startRaw = f('StartTime') ?? '';
  const answer = iso(times.answerMs);

  const quality = callQuality({ caller: f('StickyQosCaller'), agent: f('StickyQosAgent'), channel, dstchannel });

  const doc: CdrDocument = {
    id: cdrId([uniqueid, linkedid ?? '', channel, dstchannel, startRaw]),
    '@timestamp': end,
    direction,
    ...(number?.e164 ? { customer_e164: number.e164 } : {}),
    ...(number?.raw ? { customer_raw: number.raw } : {}),
    ...(agent ? { agent } : {}),
    ...(pbx ? { pbx } : {}),
    ...(agent && agentPbx ? { agent_pbx: agentPbx } : {}),
    talk_seconds: talkSeconds,
    talked,
    ...(attempt ? { attempt: true } : {}),
    ...(note?.reason ? { sticky_reason: note.reason } : {}),
    ...(did ? { did } : {}),
    ...(quality ? { quality } : {}),
    asterisk: {
      src,
      dst,
      dcontext: f('DestinationContext') ?? '',
      clid: f('CallerID') ?? '',
      channel,
      dstchannel,
      lastapp,
      lastdata: f('LastData') ?? '',
      start: start ?? end,
      ...(answer ? { answer } : {}),
      end,
      duration: int(f('Duration')),
      billsec,
      disposition,
      amaflags: f('AMAFlags') ?? '',
      accountcode: f('AccountCode') ?? '',
      uniqueid,
      ...(linkedid ? { linkedid } : {}),
      userfield: f('UserField') ?? '',
    },
  };
  return doc;
}

/** sha256 of the CDR's identity, 32 hex chars: the same CDR sent twice gets the same id (and ES _id). */
export function cdrId(parts: readonly string[]): string {
  // crypto.hash: the one-shot form of createHash().update().digest(), half its cost per CDR.
  return hash('sha256', parts.join('|'), 'hex').slice(0, 32);
}

function agentOf(channel: string, pattern: RegExp): string | undefined {
  const m = pattern.exec(channel);
  return m?.[1] || undefined;
}

function int(raw: string | undefined): number {
  const n = Number.parseInt(raw ?? '', 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * AMI key case varies between versions (UniqueID / Uniqueid, LinkedID / Linkedid). An
 * event whose keys are all spelled as this file reads them (two spellings of one key
 * cannot occur then) is read as is; any other goes through a lower-cased copy, where
 * the last of two spellings wins.
 */
function caseInsensitive(e: AmiFields): (key: string) => string | undefined {
  let asRead = true;
  for (const k in e) {
    if (!cdrKeysExact.has(k)) {
      asRead = false;
      break;
    }
  }
  if (asRead) return (key) => e[key];
  const lower = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(e)) lower.set(k.toLowerCase(), v);
  return (key) => lower.get(key.toLowerCase());
}
