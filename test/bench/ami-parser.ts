// Micro-benchmark: asterisk-ami-client's socket parser (AmiEventsStream) on AMI wire
// text in 64 KiB chunks (a socket read under load) and one event per chunk, with the
// router's fast path (src/ami/events-stream-fast-path.ts) or, with AMI_FAST_PATH=0,
// the library as published. Run the two side by side to compare; prints JSON.
//   npx tsx test/bench/ami-parser.ts
import { amiEventsStreamClass, installAmiStreamFastPath } from '../../src/ami/events-stream-fast-path.js';
import { cdrWire } from './lib/cdr-events.js';

const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const CHUNK = 64 * 1024;
const fast = process.env.AMI_FAST_PATH !== '0';
if (fast) installAmiStreamFastPath();
const Stream = amiEventsStreamClass();

function rate(chunks: Buffer[]): number {
  const s = new Stream();
  let n = 0;
  s.on('amiEvent', () => n++);
  s.on('data', () => undefined);
  const t0 = performance.now();
  for (const c of chunks) s.write(c);
  const sec = (performance.now() - t0) / 1000;
  if (n !== N) throw new Error(`parsed ${n} of ${N} events`);
  return n / sec;
}

const { wire, perEvent } = cdrWire(N);
const big: Buffer[] = [];
for (let off = 0; off < wire.length; off += CHUNK) big.push(wire.subarray(off, off + CHUNK));
rate(big); // warm-up
const r64k = rate(big);
const r1 = rate(perEvent);
process.stdout.write(`${JSON.stringify({ fastPath: fast, events: N, eventsPerS64k: Math.round(r64k), eventsPerSOnePerChunk: Math.round(r1), usPerEvent64k: 1e6 / r64k, usPerEventOnePerChunk: 1e6 / r1 })}\n`);
