// The caller-number normaliser's fast path: libphonenumber with extract: false on the
// digit strings parseCallerNumber hands it gives what its default (search the text for
// a number) gives, for every kind of candidate: international, national per region,
// too short, too long, leading zeros.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { normalizeNumber } from '../../src/numbers.js';

// Deterministic: the same corpus every run.
let seed = 42;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};
const digits = (n: number) => Array.from({ length: n }, () => String(rand(10))).join('');
const prefixes = ['1', '1212', '1212000', '1876', '7', '20', '33', '380', '44', '49', '61', '81', '86', '91', '353', '971', '998', '0', '00', '8', '88', '999'];
const regions: CountryCode[] = ['US', 'UA', 'DE', 'GB', 'FR', 'IN', 'JM', 'RU'];

test('extract: false parses the digit candidates exactly as the library default does', () => {
  let possible = 0;
  for (let i = 0; i < 6000; i++) {
    const prefix = prefixes[rand(prefixes.length)]!;
    const body = prefix + digits(Math.max(0, 3 + rand(13) - prefix.length));
    const region = regions[rand(regions.length)]!;
    for (const c of [`+${body}`, body]) {
      const a = c.startsWith('+') ? parsePhoneNumberFromString(c) : parsePhoneNumberFromString(c, region);
      const b = c.startsWith('+') ? parsePhoneNumberFromString(c, { extract: false }) : parsePhoneNumberFromString(c, { defaultCountry: region, extract: false });
      const view = (p: typeof a) => (p ? { possible: p.isPossible(), number: p.number } : undefined);
      assert.deepEqual(view(b), view(a), `${c} (${region})`);
      if (a?.isPossible()) possible++;
    }
  }
  assert.ok(possible > 500, `the corpus has possible numbers too (${possible})`);
});

test('normalizeNumber: international, national with a region, carrier form without +, 00 prefix, garbage', () => {
  assert.deepEqual(normalizeNumber('+380961234567'), { raw: '+380961234567', e164: '+380961234567' });
  assert.deepEqual(normalizeNumber('0961234567', 'UA'), { raw: '0961234567', e164: '+380961234567' });
  assert.deepEqual(normalizeNumber('380961234567', 'UA'), { raw: '380961234567', e164: '+380961234567' });
  assert.deepEqual(normalizeNumber('00380961234567'), { raw: '00380961234567', e164: '+380961234567' });
  assert.deepEqual(normalizeNumber('(212) 555-0100', 'US'), { raw: '(212) 555-0100', e164: '+12125550100' });
  assert.deepEqual(normalizeNumber('2025550100'), { raw: '2025550100' }, 'no region: not guessed');
  assert.deepEqual(normalizeNumber('anonymous'), { raw: 'anonymous' });
  assert.deepEqual(normalizeNumber('+'), { raw: '+' });
  assert.deepEqual(normalizeNumber('+(-)'), { raw: '+(-)' });
});
