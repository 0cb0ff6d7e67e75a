// Checkpoints a WAL-mode SQLite file from a worker thread, so the event loop that routes
// calls never runs one. SQLite's automatic checkpoint runs inside whichever commit pushes
// the WAL past 1000 pages: it copies the pages into the main file and fsyncs both
// (synchronous=NORMAL), 50-400 ms on a busy disk, on the loop, in the middle of an AMI
// read or a backfill turn. The writer turns that off (PRAGMA wal_autocheckpoint = 0) and
// this thread runs PASSIVE checkpoints every `everyMs` on a connection of its own:
// PASSIVE never waits for a lock and never blocks the writer, and a WAL whose frames are
// all checkpointed is rewound by the writer's next transaction, so it stays small.
// Durability is SQLite's either way: a commit is safe once it is in the WAL, whoever
// later copies it into the main file.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { sqliteBackend } from './sqlite.js';

export interface WalCheckpointerOptions {
  /** The database file (its -wal next to it). */
  path: string;
  /** Default 1000 ms. */
  everyMs?: number;
  /** The thread could not start or died: the caller turns SQLite's own checkpoints back on. */
  onFailed: (err: Error) => void;
}

// Plain CommonJS, evaluated in the worker: no TypeScript loader needed there, and the
// same SQLite library as the main thread (src/storage/sqlite.ts's choice).
const workerSource = `
const { workerData } = require('node:worker_threads');
let checkpoint;
if (workerData.backend === 'node:sqlite') {
  // Node 22's one ExperimentalWarning for node:sqlite, dropped as src/storage/sqlite.ts does.
  const emit = process.emitWarning;
  process.emitWarning = (w, ...rest) => (/SQLite is an experimental feature/.test(String(w && w.message || w)) ? undefined : emit.call(process, w, ...rest));
  const { DatabaseSync } = require('node:sqlite');
  process.emitWarning = emit;
  const db = new DatabaseSync(workerData.path);
  const st = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  checkpoint = () => st.get();
} else {
  const Database = require(workerData.module);
  const db = new Database(workerData.path, { fileMustExist: true });
  const st = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  checkpoint = () => st.get();
}
checkpoint();
// A checkpoint that fails (I/O error, full disk) is retried at the next tick: the WAL
// keeps every commit meanwhile, and the writer's own errors report the disk.
setInterval(() => {
  try { checkpoint(); } catch {}
}, workerData.everyMs);
`;

export class WalCheckpointer {
  private worker: Worker | undefined;
  private closed = false;

  constructor(o: WalCheckpointerOptions) {
    const module = sqliteBackend === 'better-sqlite3' ? createRequire(import.meta.url).resolve('better-sqlite3') : undefined;
    const w = new Worker(workerSource, {
      eval: true,
      workerData: { backend: sqliteBackend, module, path: o.path, everyMs: o.everyMs ?? 1000 },
      // A few SQLite calls on a timer: the smallest heap will do.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
      stdout: false,
      stderr: false,
    });
    w.unref();
    const failed = (err: Error) => {
      if (this.closed) return;
      this.closed = true;
      this.worker = undefined;
      o.onFailed(err);
    };
    w.on('error', failed);
    w.on('exit', (code) => failed(new Error(`wal checkpointer thread exited (code ${code})`)));
    this.worker = w;
  }

  /** Stops the thread (the writer's close then checkpoints what is left, as SQLite does). */
  close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    return w ? w.terminate().then(() => undefined) : Promise.resolve();
  }
}
