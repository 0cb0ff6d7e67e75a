// One normaliser for every caller number: +380961234567, 380961234567 and
// 0961234567 (region UA) are the same customer. A number is looked up when it is
// *possible* (right length for its country), not only when libphonenumber's
// validity metadata knows its range: carriers hand out new ranges before the
// metadata catches up.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export interface CallerNumber {
  /** Exactly what Asterisk had (trimmed, at most 64 chars, control characters removed). */
  raw: string;
  /** E.164 (+…) when the number parsed to a possible number. */
  e164?: string;
}

const anonymous = /^(?:anonymous|unknown|unavailable|restricted|private|withheld|asterisk)$/i;

// libphonenumber's parse is the costliest step of learning a CDR (~20 µs), and the
// same customer numbers come back in every leg's CDR and every call-back: the last
// few thousand answers are kept (a pure function of raw text and region).
const memo = new Map<string, CallerNumber>();
const MEMO_MAX = 4096;

export function normalizeNumber(input: string | undefined, region?: CountryCode): CallerNumber {
  const text = String(input ?? '');
  if (text.length > 128) return parseCallerNumber(text, region);
  const key = `${region ?? ''}|${text}`;
  const known = memo.get(key);
  if (known) return { ...known };
  const out = parseCallerNumber(input, region);
  if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value!);
  memo.set(key, out);
  return { ...out };
}

function parseCallerNumber(input: string | undefined, region?: CountryCode): CallerNumber {
  // eslint-disable-next-line no-control-regex
  const raw = String(input ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 64);
  if (raw === '' || anonymous.test(raw)) return { raw };
  // Only digits and the usual separators; anything else (letters, quotes, `*`,
  // query syntax) is not a phone number.
  if (!/^\+?[\d\s().-]{3,32}$/.test(raw)) return { raw };
  let digits = raw.replace(/[\s().-]/g, '');
  if (digits.startsWith('00')) digits = `+${digits.slice(2)}`; // international prefix as most of the world dials it
  // With a region, a national number parses against it, and a number that is not
  // possible there is tried as international without its `+` (carriers send
  // 380961234567). Without a region only the international form is unambiguous:
  // 2025550100 would otherwise become an Egyptian +20 number.
  const candidates = digits.startsWith('+') ? [digits] : region ? [digits, `+${digits}`] : [];
  for (const c of candidates) {
    // extract: false: c is already nothing but digits (and a leading +), so the library's
    // search for a number inside free text finds all of it; skipping it saves ~20 % of
    // the parse (test/unit/numbers.test.ts checks both agree).
    const parsed = c.startsWith('+') ? parsePhoneNumberFromString(c, { extract: false }) : parsePhoneNumberFromString(c, { defaultCountry: region, extract: false });
    if (parsed?.isPossible()) return { raw, e164: parsed.number };
  }
  return { raw };
}
