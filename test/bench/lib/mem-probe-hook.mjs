// Preloaded into the router by memory benches (NODE_OPTIONS=--import; test-only, never in
// the product): on SIGUSR2 appends one JSON line to $BENCH_MEM_DIR/mem-<pid>.jsonl with
// process.memoryUsage(), V8's heap spaces and /proc/self/status (RssAnon/RssFile), first as
// found and then, when the router runs with --expose-gc, after a full GC (what is really
// retained versus what V8 has not collected yet). BENCH_MEM_SNAPSHOT=1 also writes a heap
// snapshot after the GC (open in Chrome DevTools → Memory).
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';

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
  const v8Committed = mb(Object.values(v8.getHeapSpaceStatistics()).reduce((a, sp) => a + sp.physical_space_size, 0));
  return { native: glibcHeap(v8Committed, status.RssAnon), maps: bigMappings(), rss: mb(u.rss), heapTotal: mb(u.heapTotal), heapUsed: mb(u.heapUsed), external: mb(u.external), arrayBuffers: mb(u.arrayBuffers), mallocedMemory: mb(h.malloced_memory), peakMalloced: mb(h.peak_malloced_memory), status, spaces };
}

/**
 * glibc's malloc heap, resident: the main arena ([heap], grown by brk) and the thread
 * arenas (anonymous mappings of HEAP_MAX_SIZE = 64 MB, aligned to 64 MB, the unused tail
 * mapped ---p). `otherAnon`: RssAnon less those and V8's committed spaces (the main
 * isolate's): worker isolates, thread stacks, V8's code range bookkeeping, big mmaps.
 */
function glibcHeap(v8Committed, rssAnon) {
  const HEAP = 64 * 1048576;
  const maps = [];
  let cur;
  for (const l of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (head) maps.push((cur = { start: parseInt(head[1], 16), end: parseInt(head[2], 16), perms: head[3], name: head[4], rss: 0 }));
    else if (cur && l.startsWith('Rss:')) cur.rss = parseInt(l.slice(4), 10) * 1024;
  }
  let brk = 0;
  let arenas = 0;
  let arenasRss = 0;
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i];
    if (m.name === '[heap]') brk += m.rss;
    else if (!m.name && m.perms.startsWith('rw') && m.start % HEAP === 0) {
      const next = maps[i + 1];
      const end = next && !next.name && next.perms === '---p' && next.start === m.end ? next.end : m.end;
      if (end - m.start === HEAP) {
        arenas++;
        arenasRss += m.rss;
      }
    }
  }
  return { mainArena: mb(brk), threadArenas: arenas, threadArenasRss: mb(arenasRss), glibcTotal: mb(brk + arenasRss), v8Committed, otherAnon: Math.round((rssAnon - mb(brk + arenasRss) - v8Committed) * 10) / 10 };
}

/** Mappings holding more than 1 MB resident (/proc/self/smaps): V8 spaces, malloc arenas, thread stacks, files. */
function bigMappings() {
  const out = [];
  let cur;
  for (const l of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (head) {
      cur = { size: mb(parseInt(head[2], 16) - parseInt(head[1], 16)), name: head[3] || '[anon]', rss: 0 };
      out.push(cur);
    } else if (cur && l.startsWith('Rss:')) cur.rss = mb(parseInt(l.slice(4), 10) * 1024);
  }
  return out.filter((m) => m.rss > 1).sort((a, b) => b.rss - a.rss);
}

if (dir) {
  // Time spent in GC by kind since start (ms, wall clock of each pause): what a smaller young generation costs.
  const gcMs = { minor: 0, major: 0, incremental: 0, weakcb: 0, count: 0 };
  const kinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb' };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs[kinds[e.detail?.kind] ?? 'major'] += e.duration;
      gcMs.count++;
    }
  }).observe({ entryTypes: ['gc'] });
  let n = 0;
  process.on('SIGUSR2', () => {
    const line = { t: Date.now(), n: ++n, gcMs: { ...gcMs }, before: sample() };
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
      line.afterGc = sample();
    }
    if (process.env.BENCH_MEM_SNAPSHOT === '1') line.snapshot = v8.writeHeapSnapshot(join(dir, `router-${process.pid}-${n}.heapsnapshot`));
    appendFileSync(join(dir, `mem-${process.pid}.jsonl`), `${JSON.stringify(line)}\n`);
  });
}
