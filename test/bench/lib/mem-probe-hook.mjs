// Preloaded into the router by memory benches (NODE_OPTIONS=--import; test-only, never in
// the product): on SIGUSR2 appends one JSON line to $BENCH_MEM_DIR/mem-<pid>.jsonl with
// process.memoryUsage(), V8's heap spaces and /proc/self/status (RssAnon/RssFile), first as
// found and then, when the router runs with --expose-gc, after a full GC (what is really
// retained versus what V8 has not collected yet). BENCH_MEM_SNAPSHOT=1 also writes a heap
// snapshot after the GC (open in Chrome DevTools → Memory).
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';

const dir = process.env.BENCH_MEM_DIR;
const mb = (n) => Math.round((n / 1048576) * 10) / 10;

function sample() {
  const u = process.memoryUsage();
  const status = Object.fromEntries(
    readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .filter((l) => /^(VmRSS|RssAnon|RssFile|RssShmem|Threads)/.test(l))
      .map((l) => {
        const [k, v] = l.split(/:\s+/);
        return [k, k === 'Threads' ? Number(v) : mb(parseInt(v, 10) * 1024)];
      }),
  );
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: mb(s.space_size), used: mb(s.space_used_size), committed: mb(s.physical_space_size) }]));
  const h = v8.getHeapStatistics();
  return { rss: mb(u.rss), heapTotal: mb(u.heapTotal), heapUsed: mb(u.heapUsed), external: mb(u.external), arrayBuffers: mb(u.arrayBuffers), mallocedMemory: mb(h.malloced_memory), peakMalloced: mb(h.peak_malloced_memory), status, spaces };
}

if (dir) {
  let n = 0;
  process.on('SIGUSR2', () => {
    const line = { t: Date.now(), n: ++n, before: sample() };
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
      line.afterGc = sample();
    }
    if (process.env.BENCH_MEM_SNAPSHOT === '1') line.snapshot = v8.writeHeapSnapshot(join(dir, `router-${process.pid}-${n}.heapsnapshot`));
    appendFileSync(join(dir, `mem-${process.pid}.jsonl`), `${JSON.stringify(line)}\n`);
  });
}
