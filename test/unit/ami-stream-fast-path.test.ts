// The AMI stream fast path must cut and parse the wire exactly as the library does:
// the same events, responses and pushed data, however the bytes are chunked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { amiEventsStreamClass, installAmiStreamFastPath } from '../../src/ami/events-stream-fast-path.js';

type Stream = NodeJS.ReadWriteStream & { on(e: string, l: (x: unknown) => void): Stream };
const Lib = amiEventsStreamClass();
const libProto = Lib.prototype as unknown as Record<string, unknown>;
// The library's own methods, kept on a subclass before the fast path replaces them.
class Original extends (Lib as unknown as new () => object) {}
Object.assign(Original.prototype, { _parse: libProto._parse, _analyzeSimple: libProto._analyzeSimple });
installAmiStreamFastPath();

function run(Cls: new () => Stream, chunks: Buffer[]): unknown[] {
  const out: unknown[] = [];
  const s = new Cls();
  s.on('amiEvent', (e) => out.push(['event', e]));
  s.on('amiResponse', (e) => out.push(['response', e]));
  s.on('amiAction', (e) => out.push(['action', e]));
  s.on('data', (d) => out.push(['data', String(d)]));
  for (const c of chunks) s.write(c);
  return out;
}

const wire = Buffer.from(
  [
    'Asterisk Call Manager/9.0.0\r\n',
    'Response: Success\r\nActionID: a1\r\nMessage: Authentication accepted\r\n\r\n',
    'Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n',
    'Event: Cdr\r\nPrivilege: cdr,all\r\nSource: +12125550100\r\nCallerID: "Ann: Smith" <+12125550100>\r\nLastData: PJSIP/1002,20,tT\r\nStartTime: 2025-06-01 10:00:00\r\nEndTime: 2025-06-01 10:00:07\r\nUniqueID: 1748772000.1\r\n\r\n',
    'Response: Follows\r\nPrivilege: Command\r\nActionID: a2\r\nOutput: x\r\nsome text: with colon\r\n--END COMMAND--\r\n\r\n',
    'Response: Follows\r\nActionID: a5\r\nline one\r\n\r\nline after a blank one\r\n--END COMMAND--\r\n\r\n',
    'Event: VarSet\r\nVariable: STICKY_DID\r\nValue: 100\r\n\r\n',
    'Action: Ping\r\nActionID: a3\r\n\r\n',
    'Event: Newexten\r\nAppData: Ünïcode ✓ value\r\nExtension: s\r\n\r\n',
    'Response: Success\r\nActionID: a4\r\nPing: Pong\r\n\r\n',
  ].join('').repeat(3),
);

function chunked(sizes: (i: number) => number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < wire.length; i++) {
    const n = Math.max(1, sizes(i));
    out.push(wire.subarray(off, off + n));
    off += n;
  }
  return out;
}

test('fast path: same messages as the library, whole wire in one chunk', () => {
  const expected = run(Original as unknown as new () => Stream, [wire]);
  assert.ok(expected.filter((x) => (x as string[])[0] === 'event').length >= 12);
  assert.deepEqual(run(Lib, [wire]), expected);
});

test('fast path: same messages as the library for every chunk size 1..80 and random cuts', () => {
  for (let size = 1; size <= 80; size++) {
    const chunks = chunked(() => size);
    assert.deepEqual(run(Lib, chunks), run(Original as unknown as new () => Stream, chunks), `chunk size ${size}`);
  }
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 200;
  for (let k = 0; k < 50; k++) {
    const chunks = chunked(() => rnd());
    assert.deepEqual(run(Lib, chunks), run(Original as unknown as new () => Stream, chunks), `random cut ${k}`);
  }
});

test('fast path: a message end split between CR and LF and across chunk boundaries', () => {
  const at = wire.indexOf('\r\n\r\n');
  for (const cut of [at, at + 1, at + 2, at + 3, at + 4]) {
    const chunks = [wire.subarray(0, cut), wire.subarray(cut)];
    assert.deepEqual(run(Lib, chunks), run(Original as unknown as new () => Stream, chunks), `cut at ${cut}`);
  }
});
