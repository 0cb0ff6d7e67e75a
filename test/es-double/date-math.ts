// Date parsing as ES does it for `date` fields (default format
// strict_date_optional_time||epoch_millis) plus date math (`now-1d/d`,
// `2026-11-20||+1M`). All instants are epoch millis in UTC; time zones are
// fixed offsets only (IANA names are rejected rather than guessed).

import { EsError, err } from './errors.js';

type Unit = 'y' | 'M' | 'w' | 'd' | 'h' | 'm' | 's';

const ISO =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Which component a partial ISO date stops at: drives round-up of `lte`/`gt` bounds. */
type Precision = 'y' | 'M' | 'd' | 'h' | 'm' | 's' | 'ms';

interface Parsed {
  ms: number;
  precision: Precision;
}

/** Parses a fixed offset like `+01:00`, `-0530`, `Z`, `UTC`; returns offset millis. */
export function parseTimeZone(tz: string): number {
  if (tz === 'Z' || tz === 'UTC' || tz === 'GMT' || tz === 'Etc/UTC') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(tz);
  if (!m) throw err.unsupported(`time_zone [${tz}] (only fixed offsets)`);
  const sign = m[1] === '-' ? -1 : 1;
  return sign * (Number(m[2]) * 3_600_000 + Number(m[3] ?? 0) * 60_000);
}

function parseIso(s: string, defaultOffsetMs: number): Parsed | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(Number(y), month - 1, day, Number(h ?? 0), Number(mi ?? 0), Number(sec ?? 0), millis);
  // Date.UTC silently rolls 2026-02-31 over; ES rejects it.
  if (new Date(utc).getUTCDate() !== day) return undefined;
  const offset = zone === undefined ? defaultOffsetMs : parseTimeZone(zone);
  const precision: Precision =
    frac !== undefined ? 'ms' : sec !== undefined ? 's' : mi !== undefined ? 'm' : h !== undefined ? 'h' : d !== undefined ? 'd' : mo !== undefined ? 'M' : 'y';
  return { ms: utc - offset, precision };
}

export interface DateFormatOptions {
  /** Mapping/query `format`; only the epoch_* and ISO variants are understood. */
  format?: string;
  timeZoneOffsetMs?: number;
}

function parseAbsolute(value: string | number, opts: DateFormatOptions): Parsed | undefined {
  const formats = (opts.format ?? 'strict_date_optional_time||epoch_millis').split('||');
  for (const f of formats) {
    if (f === 'epoch_millis' || f === 'epoch_second') {
      const n = typeof value === 'number' ? value : /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
      if (Number.isFinite(n)) return { ms: Math.trunc(f === 'epoch_second' ? n * 1000 : n), precision: 'ms' };
    } else if (typeof value === 'string') {
      // Every other named format is approximated by the ISO parser.
      const p = parseIso(value, opts.timeZoneOffsetMs ?? 0);
      if (p) return p;
    }
  }
  return undefined;
}

/** Parses a stored field value; undefined when ES would reject it. */
export function parseDate(value: unknown, opts: DateFormatOptions = {}): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  return parseAbsolute(value, opts)?.ms;
}

const UNIT_MS: Partial<Record<Unit, number>> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const PRECISION_UNIT: Record<Exclude<Precision, 'ms'>, Unit> = { y: 'y', M: 'M', d: 'd', h: 'h', m: 'm', s: 's' };

function add(ms: number, n: number, unit: Unit, offset: number): number {
  const fixed = UNIT_MS[unit];
  if (fixed !== undefined) return ms + n * fixed;
  const d = new Date(ms + offset);
  const months = d.getUTCFullYear() * 12 + d.getUTCMonth() + (unit === 'M' ? n : n * 12);
  const year = Math.floor(months / 12);
  const month = months - year * 12;
  // Java's plusMonths clamps Jan 31 + 1M to Feb 28/29; JS Date would roll over into March.
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(d.getUTCDate(), lastDay);
  const timeOfDay = (((ms + offset) % 86_400_000) + 86_400_000) % 86_400_000;
  return Date.UTC(year, month, day) + timeOfDay - offset;
}

function roundDown(ms: number, unit: Unit, offset: number): number {
  const d = new Date(ms + offset);
  switch (unit) {
    case 'y':
      return Date.UTC(d.getUTCFullYear(), 0, 1) - offset;
    case 'M':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - offset;
    case 'w': {
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      const sinceMonday = (d.getUTCDay() + 6) % 7; // ISO weeks start on Monday
      return day - sinceMonday * 86_400_000 - offset;
    }
    default: {
      const size = UNIT_MS[unit] ?? 1;
      const local = ms + offset;
      return local - (((local % size) + size) % size) - offset;
    }
  }
}

/** Rounding: down for gte/lt, up (end of unit) for gt/lte — as ES does. */
function round(ms: number, unit: Unit, up: boolean, offset: number): number {
  const start = roundDown(ms, unit, offset);
  return up ? add(start, 1, unit, offset) - 1 : start;
}

function mathError(expr: string, why: string): EsError {
  return new EsError(400, 'parse_exception', `failed to parse date field [${expr}]: ${why}`);
}

/**
 * Resolves a range/term bound. `roundUp` follows ES: partial dates and `/unit`
 * round to the end of the unit for gt/lte bounds.
 */
export function resolveDateMath(
  expr: string | number,
  now: number,
  roundUp: boolean,
  opts: DateFormatOptions = {},
): number {
  const offset = opts.timeZoneOffsetMs ?? 0;
  if (typeof expr === 'number') {
    const p = parseAbsolute(expr, opts);
    if (!p) throw mathError(String(expr), 'not a valid date');
    return p.ms;
  }
  let base: number;
  let math: string;
  if (expr.startsWith('now')) {
    base = now;
    math = expr.slice(3);
  } else {
    const sep = expr.indexOf('||');
    const anchor = sep === -1 ? expr : expr.slice(0, sep);
    const p = parseAbsolute(anchor, opts);
    if (!p) throw mathError(expr, `unable to parse [${anchor}] with format [${opts.format ?? 'strict_date_optional_time||epoch_millis'}]`);
    base = roundUp && sep === -1 && p.precision !== 'ms' ? round(p.ms, PRECISION_UNIT[p.precision], true, offset) : p.ms;
    math = sep === -1 ? '' : expr.slice(sep + 2);
  }
  return applyMath(base, math, roundUp, offset, expr);
}

function applyMath(start: number, math: string, roundUp: boolean, offset: number, expr: string): number {
  let ms = start;
  let i = 0;
  while (i < math.length) {
    const op = math[i++];
    if (op === '/') {
      const unit = toUnit(math[i++]);
      if (!unit) throw mathError(expr, `rounding unit not supported in [${math}]`);
      ms = round(ms, unit, roundUp, offset);
      continue;
    }
    if (op !== '+' && op !== '-') throw mathError(expr, `operator not supported for date math [${math}]`);
    let digits = '';
    while (i < math.length && /\d/.test(math[i] ?? '')) digits += math[i++];
    const unit = toUnit(math[i++]);
    if (!unit) throw mathError(expr, `unit not supported for date math [${math}]`);
    const n = digits === '' ? 1 : Number(digits);
    ms = add(ms, op === '-' ? -n : n, unit, offset);
  }
  return ms;
}

function toUnit(u: string | undefined): Unit | undefined {
  if (u === 'H') return 'h'; // ES accepts H as an alias for hours
  return u === 'y' || u === 'M' || u === 'w' || u === 'd' || u === 'h' || u === 'm' || u === 's' ? u : undefined;
}
