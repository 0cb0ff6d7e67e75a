// When a CDR's call started, was answered and ended, as instants. cdr_manager
// writes StartTime/AnswerTime/EndTime as wall-clock text in the PBX's own zone (its
// /etc/localtime; the Asterisk process's TZ does not change them), with no offset.
// In order of trust:
//   1. epoch fields mapped into the Cdr event (cdr_manager.conf [mappings]
//      `start,u => StartEpoch`, `answer,u => AnswerEpoch`, `end,u => EndEpoch`):
//      exact, zone-free, unambiguous in the hour that repeats when DST ends;
//   2. PBX_TIMEZONE (IANA): the wall clock read in that zone; in the repeated hour
//      the candidate closest to (and not after) the reference instant wins;
//   3. no setting: the offset is derived per event as wall clock minus the
//      reference instant (AMI's epoch `Timestamp` with `timestampevents = yes`, else
//      the moment the router received the event), rounded to 15 minutes. A Cdr is
//      posted seconds after the call ends, so this is the offset in force at the end,
//      also in the repeated hour. Needs unbatched CDRs (cdr.conf batch = no).
// Pure: the reference instant is a parameter.
import { DateTime, IANAZone } from 'luxon';

export type TimeSource = 'epoch' | 'zone' | 'derived_offset' | 'utc';

export interface PbxTimeInput {
  startTime?: string;
  answerTime?: string;
  endTime?: string;
  startEpoch?: string;
  answerEpoch?: string;
  endEpoch?: string;
  /** AMI `Timestamp` (epoch seconds with micro), when manager.conf has timestampevents = yes. */
  timestamp?: string;
  /** Duration and BillableSeconds: repair start/answer when the call crossed a DST change. */
  durationSeconds?: number;
  billableSeconds?: number;
}

export interface PbxTimeOptions {
  /** PBX_TIMEZONE. */
  zone?: string;
  /** When the event was received (the router's clock; epoch ms or a DateTime): the reference without `timestamp`. */
  receivedAt?: DateTime | number;
}

export interface PbxTimes {
  start?: DateTime;
  answer?: DateTime;
  end: DateTime;
  /** The same instants as epoch ms (what the CDR mapping reads: no DateTime built per CDR). */
  startMs?: number;
  answerMs?: number;
  endMs: number;
  source: TimeSource;
  /** The PBX's UTC offset at the end of the call, in minutes (wall clock minus UTC). */
  offsetMinutes: number;
}

// The DateTimes are built only when read (the PBX clock monitor, tests): three luxon
// objects per CDR were a tenth of the mapping's cost, and the mapping needs only ms.
class Times implements PbxTimes {
  constructor(
    readonly endMs: number,
    readonly startMs: number | undefined,
    readonly answerMs: number | undefined,
    readonly source: TimeSource,
    readonly offsetMinutes: number,
  ) {}
  get end(): DateTime {
    return utc(this.endMs);
  }
  get start(): DateTime | undefined {
    return this.startMs === undefined ? undefined : utc(this.startMs);
  }
  get answer(): DateTime | undefined {
    return this.answerMs === undefined ? undefined : utc(this.answerMs);
  }
}

const QUARTER_HOUR_MS = 15 * 60_000;

/** The CDR's instants, or undefined without a usable end time. */
export function pbxTimes(input: PbxTimeInput, opts: PbxTimeOptions = {}): PbxTimes | undefined {
  const endEpoch = epoch(input.endEpoch);
  const endWall = wallMs(input.endTime);
  if (endEpoch !== undefined) {
    const startEpoch = epoch(input.startEpoch);
    const answerEpoch = epoch(input.answerEpoch);
    return new Times(endEpoch, startEpoch, answerEpoch, 'epoch', endWall !== undefined ? roundQuarter(endWall - endEpoch) / 60_000 : 0);
  }
  if (endWall === undefined) return undefined;
  const at = opts.receivedAt;
  const reference = epoch(input.timestamp) ?? (typeof at === 'number' ? at : at?.toMillis());

  let source: TimeSource;
  let toInstant: (wall: number, ref: number | undefined) => number;
  if (opts.zone) {
    const zone = IANAZone.create(opts.zone);
    if (!zone.isValid) throw new Error(`pbxTimes: ${JSON.stringify(opts.zone)} is not an IANA time zone`);
    source = 'zone';
    toInstant = (wall, ref) => instantInZone(wall, zone, ref);
  } else if (reference !== undefined) {
    source = 'derived_offset';
    const offset = roundQuarter(endWall - reference);
    toInstant = (wall) => wall - offset;
  } else {
    source = 'utc';
    toInstant = (wall) => wall;
  }
  const end = toInstant(endWall, reference);
  // Start and answer lie before the end: read them against the end, then check
  // against Asterisk's own second counts, which no DST change can shift.
  const early = (raw: string | undefined, seconds: number | undefined): number | undefined => {
    const wall = wallMs(raw);
    if (wall === undefined) return undefined;
    const t = toInstant(wall, end);
    if (seconds !== undefined && Math.abs(end - t - seconds * 1000) > 5 * 60_000) return end - seconds * 1000;
    return t;
  };
  const start = early(input.startTime, input.durationSeconds);
  const answer = early(input.answerTime, input.billableSeconds);
  return new Times(end, start, answer, source, (endWall - end) / 60_000);
}

/**
 * The instant whose wall clock in `zone` is `wall`. In the repeated hour there are
 * two: the latest not after `ref` (+ 1 min of clock skew), else the earliest.
 * In the skipped hour there is none: read it with the offset from before the gap.
 */
export function instantInZone(wall: number, zone: IANAZone, ref?: number): number {
  const offsets = new Set([zone.offset(wall - 86_400_000), zone.offset(wall), zone.offset(wall + 86_400_000)]);
  const candidates = [...offsets].map((o) => wall - o * 60_000).filter((t) => zone.offset(t) * 60_000 === wall - t).sort((a, b) => a - b);
  if (candidates.length === 0) return wall - zone.offset(wall - 86_400_000) * 60_000;
  if (candidates.length === 1 || ref === undefined) return candidates[0]!;
  const notAfter = candidates.filter((t) => t <= ref + 60_000);
  return notAfter.length > 0 ? notAfter[notAfter.length - 1]! : candidates[0]!;
}

// cdr_manager's "YYYY-MM-DD HH:MM:SS", read as UTC wall clock: what luxon's
// fromFormat(raw, 'yyyy-MM-dd HH:mm:ss', { zone: 'utc' }) accepts (exact shape, real
// calendar dates, 24:00:00 as the next midnight), at a tenth of its cost: three per
// CDR on the event loop (the unit test checks the two agree).
const WALL_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

export function wallMs(raw: string | undefined): number | undefined {
  if (!raw) return undefined;
  const m = WALL_RE.exec(raw);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[4]);
  const mi = Number(m[5]);
  const s = Number(m[6]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || mi > 59 || s > 59) return undefined;
  if (h > 24 || (h === 24 && (mi > 0 || s > 0))) return undefined;
  // setUTCFullYear: Date.UTC would read years 0000-0099 as 1900-1999.
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, 0);
  return t.getTime();
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

/** ISO 8601 in UTC with milliseconds, as luxon's toUTC().toISO() writes it. */
export function isoUtc(t: DateTime): string {
  return isoFromMillis(t.toMillis());
}

/** isoUtc of an epoch ms, without building a DateTime for the common case. */
export function isoFromMillis(ms: number): string {
  // Date writes years outside 0000-9999 with six digits and a sign; leave those to luxon.
  return ms >= MIN_4_DIGIT_MS && ms <= MAX_4_DIGIT_MS ? new Date(ms).toISOString() : DateTime.fromMillis(ms, { zone: 'utc' }).toISO()!;
}
const MIN_4_DIGIT_MS = -62167219200000; // 0000-01-01T00:00:00.000Z
const MAX_4_DIGIT_MS = 253402300799999; // 9999-12-31T23:59:59.999Z

/** "1764590000.123456" → ms; 0 (AnswerEpoch of an unanswered call) and garbage → undefined. */
function epoch(raw: string | undefined): number | undefined {
  if (!raw || !/^\d+(\.\d+)?$/.test(raw.trim())) return undefined;
  const ms = Math.round(Number(raw) * 1000);
  return ms > 0 ? ms : undefined;
}

function roundQuarter(ms: number): number {
  return Math.round(ms / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
}

function utc(ms: number): DateTime {
  return DateTime.fromMillis(ms, { zone: 'utc' });
}

/** "+05:30" style, for logs. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
