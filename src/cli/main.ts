#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768 node --max-semi-space-size=8
// sticky-router <command>: the one entry point for operators.
// MALLOC_ARENA_MAX=2: glibc gives each thread that mallocs (V8's compiler and GC helpers,
// libuv's pool, the WAL checkpoint worker) an arena of its own, up to 8 per core, and
// memory freed in one is not reused by the others. Two arenas keep ~10 MB less native heap
// at the same CPU per call (test/bench/mem-calls.ts, MEM_ROUTER_ENV).
// MALLOC_MMAP_THRESHOLD_=32768: blocks of 32 KB and more (Node's 64 KB socket read buffers
// among them) get a mapping of their own, returned to the system when freed. Otherwise glibc
// raises the threshold to the largest block freed (up to 32 MB) and keeps such blocks in
// the heap: what the ARI connect at start allocates left 13-40 MB of main heap that is
// never trimmed, at random; with it 10-12 MB. About 3.5 mmap/munmap pairs per routed call,
// no difference in CPU per call measured.
// --max-semi-space-size=8: V8's young generation grows to 2 × 16 MB while the modules load
// and never shrinks under calls; 8 MB semi-spaces keep ~20 MB less resident at the same GC
// CPU per call (test/bench/mem-calls.ts; 1-4 MB cost ~0.12 ms more GC per call). The image
// sets the same variable and flag; test/bench/lib/router.ts reads them from here.
import { Command } from 'commander';
import { version } from '../version.js';

const program = new Command()
  .name('sticky-router')
  .version(version)
  .description('Routes a returning caller to the agent they last talked to (Asterisk ARI + AMI + Elasticsearch).')
  .showHelpAfterError();

// Each command's module (and what it pulls in: the router itself, the Kibana objects, the
// exporter) is loaded only when that command runs; help and unknown commands load them all.
const commands: Record<string, () => Promise<(p: Command) => void>> = {
  start: async () => (await import('./start.js')).registerStart,
  lookup: async () => (await import('./lookup.js')).registerLookup,
  setup: async () => (await import('./setup.js')).registerSetup,
  export: async () => (await import('./export.js')).registerExport,
  recordings: async () => (await import('./recordings.js')).registerRecordings,
  'wait-ready': async () => (await import('./wait-ready.js')).registerWaitReady,
  doctor: async () => (await import('./doctor.js')).registerDoctor,
  rejected: async () => (await import('./rejected.js')).registerRejected,
  notifications: async () => (await import('./notifications.js')).registerNotifications,
  recalls: async () => (await import('./recalls.js')).registerRecalls,
};
const named = Object.hasOwn(commands, process.argv[2] ?? '') ? commands[process.argv[2]!] : undefined;
for (const load of named ? [named] : Object.values(commands)) (await load())(program);

await program.parseAsync(process.argv);
