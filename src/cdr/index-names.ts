// Daily index names. Indices are cut by the CDR's @timestamp (the call's end) in
// UTC, so the name never depends on the machine's zone (luxon's default) and a
// lookup window maps to a small, known list of indices.
import { DateTime } from 'luxon';

/** `${prefix}-yyyy.MM.dd` for the UTC day of `at` (a DateTime or an ISO string). */
export function dailyIndex(prefix: string, at: DateTime | string): string {
  const t = typeof at === 'string' ? DateTime.fromISO(at, { zone: 'utc' }) : at;
  if (!t.isValid) throw new Error(`dailyIndex: invalid timestamp ${JSON.stringify(String(at))}`);
  // 'yyyy' (calendar year), not 'kkkk'/'YYYY' (week year): 31 Dec must not land in next year's index.
  return `${prefix}-${t.toUTC().toFormat('yyyy.MM.dd')}`;
}

/** Beyond this many days a lookup uses the wildcard rather than a long list of names. */
const MAX_NAMED_DAYS = 62;
const DAY_MS = 86_400_000;

/**
 * The indices a lookup for [since, now] searches: today and yesterday always,
 * and back to the day before `since` when the window reaches further. The
 * spare day covers a CDR whose end time the PBX stamped on the other side of
 * midnight (clock skew, a PBX zone misconfigured); with ignore_unavailable a
 * missing index costs nothing. From epoch milliseconds, on the call path: UTC day
 * numbers and Date's ISO form instead of luxon's zone-aware arithmetic and
 * formatting (a measurable share of an Elasticsearch lookup; the names are the same).
 */
export function lookupIndicesAt(prefix: string, sinceMs: number, nowMs: number): string[] {
  const today = Math.floor(nowMs / DAY_MS);
  const first = Math.min(today - 1, Math.floor(sinceMs / DAY_MS) - 1);
  if (today - first > MAX_NAMED_DAYS) return [cdrIndexPattern(prefix)];
  const names: string[] = [];
  for (let day = first; day <= today; day++) names.push(`${prefix}-${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '.')}`);
  return names;
}

/** The indices holding CDRs with @timestamp in [from, to). */
export function rangeIndices(prefix: string, from: DateTime, to: DateTime): string[] {
  return daysBetween(prefix, from.toUTC(), DateTime.max(from, to.minus({ milliseconds: 1 })).toUTC());
}

/** Daily names from the day of `first` through the day of `last`; the wildcard pattern past MAX_NAMED_DAYS. */
function daysBetween(prefix: string, first: DateTime, last: DateTime): string[] {
  const end = last.startOf('day');
  let day = first.startOf('day');
  if (end.diff(day, 'days').days > MAX_NAMED_DAYS) return [cdrIndexPattern(prefix)];
  const names: string[] = [];
  for (; day <= end; day = day.plus({ days: 1 })) names.push(dailyIndex(prefix, day));
  return names;
}

/**
 * Every CDR index. `${prefix}-*` would also match the abandon records' indices
 * (`${prefix}-abandons-*`) and the shared agent states (`${prefix}-agent-states`,
 * src/pbx), so those are excluded by name.
 */
export function cdrIndexPattern(prefix: string): string {
  return `${prefix}-*,-${abandonIndexPrefix(prefix)}-*,-${prefix}-agent-states`;
}

/** Where abandon records will go: their own daily indices, outside the CDR pattern. */
export function abandonIndexPrefix(prefix: string): string {
  return `${prefix}-abandons`;
}
