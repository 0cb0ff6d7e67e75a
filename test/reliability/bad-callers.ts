// Hostile and odd caller IDs, as they can appear in a SIP From header. Each row is
// one call: the DID is unique per row so the call can be found on AMI and in the
// router's decision log; `display` goes in front of the From URI verbatim, `user`
// is the URI's user part verbatim. sipp's injection file splits fields on `;` and
// lines on LF, so neither can be inside a value (a raw `;` ends the user part in
// SIP anyway); a lone CR can, and is sent as is.

export interface BadCaller {
  did: string;
  display: string;
  user: string;
  /** What the row tries, for the report. */
  kind: string;
}

const pct = (s: string) => encodeURIComponent(s);

/** Payloads a caller controls: the number's text. */
export const payloads: { kind: string; value: string }[] = [
  { kind: 'empty', value: '' },
  { kind: 'anonymous', value: 'anonymous' },
  { kind: 'anonymous', value: 'Anonymous' },
  { kind: 'anonymous', value: 'restricted' },
  { kind: 'anonymous', value: 'unknown' },
  { kind: 'anonymous', value: 'unavailable' },
  { kind: 'anonymous', value: 'private' },
  { kind: 'anonymous', value: 'asterisk' },
  { kind: 'long', value: '1'.repeat(200) },
  { kind: 'long', value: `+${'9'.repeat(199)}` },
  { kind: 'long', value: 'A'.repeat(200) },
  { kind: 'long', value: `+1202555${'0'.repeat(192)}` },
  { kind: 'unicode', value: '☎12025550101' },
  { kind: 'unicode', value: 'Пётр' },
  { kind: 'unicode', value: '日本語の発信者' },
  { kind: 'unicode', value: '+٣٨٠٩٦١٢٣٤٥٦٧' },
  { kind: 'unicode', value: '＋１２０２５５５０１０２' },
  { kind: 'unicode', value: '+1202555\u200b0103' },
  { kind: 'unicode', value: '\u202e+12025550104' },
  { kind: 'unicode', value: '😀😀😀' },
  { kind: 'unicode', value: 'e\u0301\u0301\u0301\u0301' },
  { kind: 'quotes', value: '"' },
  { kind: 'quotes', value: "'" },
  { kind: 'quotes', value: '"+12025550105"' },
  { kind: 'quotes', value: "O'Brien" },
  { kind: 'quotes', value: '\\"\\' },
  { kind: 'quotes', value: '`id`' },
  { kind: 'crlf', value: '\r\nAction: Originate\r\nChannel: Local/1001@from-agents\r\nApplication: Wait\r\n' },
  { kind: 'crlf', value: '+12025550106\r\nAction: Command\r\nCommand: core stop now' },
  { kind: 'crlf', value: '\nAction: Redirect\nChannel: PJSIP/trunk-00000001\n' },
  { kind: 'crlf', value: '+12025550107\rAction: Hangup' },
  { kind: 'crlf', value: '\r\n\r\nAction: Logoff\r\n\r\n' },
  { kind: 'crlf', value: '\u0085Action: Ping' },
  { kind: 'crlf', value: '\u2028Action: Ping' },
  { kind: 'crlf', value: '\\r\\nAction: Originate' },
  { kind: 'crlf', value: '%0D%0AAction: Originate' },
  { kind: 'wildcard', value: '*' },
  { kind: 'wildcard', value: '**' },
  { kind: 'wildcard', value: '+1202555*' },
  { kind: 'wildcard', value: '?' },
  { kind: 'wildcard', value: '+1202555010?' },
  { kind: 'sql', value: 'OR 1=1' },
  { kind: 'sql', value: "' OR '1'='1" },
  { kind: 'sql', value: '1; DROP TABLE records; --' },
  { kind: 'sql', value: "+12025550108' --" },
  { kind: 'sql', value: '1 UNION SELECT agent FROM records' },
  { kind: 'es-query', value: '*:*' },
  { kind: 'es-query', value: 'customer_e164:*' },
  { kind: 'es-query', value: 'customer_e164:+12025550100' },
  { kind: 'es-query', value: '/.*/' },
  { kind: 'es-query', value: '/\\+1.*/' },
  { kind: 'es-query', value: '{"regexp":{"customer_e164":".*"}}' },
  { kind: 'es-query', value: '{"wildcard":{"customer_e164":"*"}}' },
  { kind: 'es-query', value: '{"query_string":{"query":"*"}}' },
  { kind: 'es-query', value: '{"match_all":{}}' },
  { kind: 'es-query', value: 'agent:1001 OR customer_e164:*' },
  { kind: 'es-query', value: '+12025550100 OR *' },
  { kind: 'es-query', value: '_exists_:agent' },
  { kind: 'es-query', value: '+1202555010~' },
  { kind: 'es-query', value: '[* TO *]' },
  { kind: 'es-query', value: '(+12025550100)' },
  { kind: 'es-query', value: '{{mustache}}' },
  { kind: 'es-query', value: '${jndi:ldap://x}' },
  { kind: 'path', value: '../../etc/passwd' },
  { kind: 'path', value: '%2e%2e%2f' },
  { kind: 'html', value: '<script>alert(1)</script>' },
  { kind: 'format', value: '%s%s%s%n' },
  { kind: 'format', value: '${EXTEN}' },
  { kind: 'format', value: '$[1+1]' },
  { kind: 'format', value: '~1001~1~ivr~s' },
  { kind: 'format', value: '|ABANDON|1|1|1' },
  { kind: 'nul', value: 'a\u0000b' },
  { kind: 'control', value: '\u0007\u0008\u001b[31m' },
  { kind: 'leading-zeros', value: '0961234567' },
  { kind: 'leading-zeros', value: '00380961234567' },
  { kind: 'leading-zeros', value: '000000000000' },
  { kind: 'leading-zeros', value: '0' },
  { kind: 'leading-zeros', value: '00' },
  { kind: 'leading-zeros', value: '0012025550109' },
  { kind: 'leading-zeros', value: '011380961234567' },
  { kind: 'country', value: '+380961234567' },
  { kind: 'country', value: '380961234567' },
  { kind: 'country', value: '+44 20 7946 0958' },
  { kind: 'country', value: '+44-20-7946-0958' },
  { kind: 'country', value: '+1 (202) 555-0110' },
  { kind: 'country', value: '+1.202.555.0111' },
  { kind: 'country', value: '+49 30 901820' },
  { kind: 'country', value: '+33 1 09 75 83 51' },
  { kind: 'country', value: '+81 3-1234-5678' },
  { kind: 'country', value: '+86 10 1234 5678' },
  { kind: 'country', value: '+7 495 123-45-67' },
  { kind: 'country', value: '+999 123 456' },
  { kind: 'country', value: '+0 123 456' },
  { kind: 'country', value: '+' },
  { kind: 'country', value: '++12025550112' },
  { kind: 'country', value: '+1+2025550113' },
  { kind: 'country', value: 'tel:+12025550114' },
  { kind: 'country', value: 'sip:+12025550115@evil' },
  { kind: 'country', value: '+12025550116;ext=1' },
  { kind: 'country', value: '+12025550117#' },
  { kind: 'country', value: '12025550118' },
  { kind: 'country', value: '2025550119' },
  { kind: 'misc', value: ' ' },
  { kind: 'misc', value: '\t' },
  { kind: 'misc', value: '-' },
  { kind: 'misc', value: '()' },
  { kind: 'misc', value: 'null' },
  { kind: 'misc', value: 'undefined' },
  { kind: 'misc', value: 'NaN' },
  { kind: 'misc', value: '__proto__' },
  { kind: 'misc', value: 'constructor' },
  { kind: 'misc', value: 'true' },
  { kind: 'misc', value: '1e309' },
  { kind: 'misc', value: '-1' },
  { kind: 'misc', value: '0x41' },
];

/** sipp's injection file cannot carry `;` or LF inside a field: those are sent %-escaped only. */
const csvSafe = (s: string) => !/[;\n]/.test(s);

/**
 * At least `min` rows: every payload in the user part raw (where the file can carry
 * it) and %-escaped, as a quoted display name, as an unquoted display token, and
 * generated numbers (random national/international forms, long digit strings,
 * random unicode).
 */
export function badCallers(min = 520, firstDid = 6_000_000, seed = 7): BadCaller[] {
  const rows: BadCaller[] = [];
  let did = firstDid;
  const add = (kind: string, display: string, user: string) => rows.push({ did: String(did++), display, user, kind });
  for (const p of payloads) {
    if (csvSafe(p.value)) add(`${p.kind} (user, raw)`, '', p.value);
    add(`${p.kind} (user, %-escaped)`, '', pct(p.value));
    const dn = p.value.replace(/["\\]/g, (c) => `\\${c}`);
    if (csvSafe(dn)) add(`${p.kind} (quoted display name)`, `"${dn}" `, '+12025550199');
    if (csvSafe(p.value) && p.value !== '') add(`${p.kind} (unquoted display name)`, `${p.value} `, '+12025550198');
  }
  // Deterministic pseudo-random extras until `min`.
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');
  const junk = '!#$%&()*+,-./:=?@[]^_`{|}~ "\'\\<>';
  while (rows.length < min) {
    const k = rows.length % 6;
    if (k === 0) add('generated: +country', '', `+${1 + Math.floor(rnd() * 98)}${digits(6 + Math.floor(rnd() * 8))}`);
    else if (k === 1) add('generated: leading zeros', '', `${'0'.repeat(1 + Math.floor(rnd() * 3))}${digits(5 + Math.floor(rnd() * 8))}`);
    else if (k === 2) add('generated: long digits', '', digits(20 + Math.floor(rnd() * 180)));
    else if (k === 3) add('generated: unicode (%-escaped)', '', pct(Array.from({ length: 3 + Math.floor(rnd() * 10) }, () => String.fromCodePoint(0xa0 + Math.floor(rnd() * 0x2f00))).join('')));
    else if (k === 4) add('generated: punctuation (%-escaped)', '', pct(Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => junk[Math.floor(rnd() * junk.length)]).join('')));
    else add('generated: separators', '', `+1 (202) 5${digits(2)}-${digits(4)}`.replace(/ /g, pct(' ')));
  }
  return rows;
}

/** Folded-header rows (caller-folded.xml): DID;display text;user;fold whitespace. */
export function foldedCallers(firstDid = 6_100_000): (BadCaller & { fold: string })[] {
  const users = ['+12025550150', '+12025550151', 'anonymous', '0961234567', '%0D%0AAction%3A%20Originate'];
  const out: (BadCaller & { fold: string })[] = [];
  let did = firstDid;
  for (const user of users) for (const fold of [' ', '\t']) out.push({ did: String(did++), display: 'Evil', user, fold, kind: 'crlf (folded From header)' });
  return out;
}
