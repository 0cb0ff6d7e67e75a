// SQLite for the journal, the outbox and Asterisk's CDR store, on whatever this Node has:
// the built-in `node:sqlite` (Node 22.13 and later, no native build at install), else
// better-sqlite3 (an optional dependency, for Node 20 only). Either way callers get the
// same small better-sqlite3-shaped API, the same row objects and the same error codes
// (`err.code === 'SQLITE_FULL'`), so nothing above this file knows which one runs.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): RunResult;
  get(...params: P): R | undefined;
  all(...params: P): R[];
  iterate(...params: P): IterableIterator<R>;
}

export interface OpenOptions {
  readonly?: boolean;
  /** Throw SQLITE_CANTOPEN instead of creating a missing file. */
  fileMustExist?: boolean;
}

interface Backend {
  readonly open: boolean;
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(source: string, o: { simple?: boolean }): unknown;
  close(): void;
}

// --- node:sqlite -------------------------------------------------------------------
interface NodeStatement {
  run(...p: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...p: unknown[]): unknown;
  all(...p: unknown[]): unknown[];
  iterate(...p: unknown[]): IterableIterator<unknown>;
}
interface NodeDatabase {
  readonly isOpen?: boolean;
  prepare(sql: string): NodeStatement;
  exec(sql: string): void;
  close(): void;
}
type NodeSqlite = { DatabaseSync: new (path: string, o?: { readOnly?: boolean }) => NodeDatabase };

/** `node:sqlite` when this Node has it without a flag; its one ExperimentalWarning (Node 22) is dropped. */
function loadNodeSqlite(): NodeSqlite | undefined {
  // Put back as it was (the same function), and called with `process` as its this.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (/SQLite is an experimental feature/.test(typeof warning === 'string' ? warning : warning.message)) return;
    (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  });
  try {
    const m = require('node:sqlite') as Partial<NodeSqlite>;
    // 22.5-22.12 need --experimental-sqlite, and StatementSync.iterate came with 22.13.
    return m.DatabaseSync && 'iterate' in (m as { StatementSync?: { prototype: object } }).StatementSync!.prototype ? (m as NodeSqlite) : undefined;
  } catch {
    return undefined;
  } finally {
    process.emitWarning = emit;
  }
}

// SQLite's result codes (sqlite3.h), as better-sqlite3 names them in `err.code`.
const primary = ['OK', 'ERROR', 'INTERNAL', 'PERM', 'ABORT', 'BUSY', 'LOCKED', 'NOMEM', 'READONLY', 'INTERRUPT', 'IOERR', 'CORRUPT', 'NOTFOUND', 'FULL', 'CANTOPEN', 'PROTOCOL', 'EMPTY', 'SCHEMA', 'TOOBIG', 'CONSTRAINT', 'MISMATCH', 'MISUSE', 'NOLFS', 'AUTH', 'FORMAT', 'RANGE', 'NOTADB', 'NOTICE', 'WARNING'];
const extended: Record<number, string> = {
  261: 'BUSY_RECOVERY', 517: 'BUSY_SNAPSHOT', 773: 'BUSY_TIMEOUT', 262: 'LOCKED_SHAREDCACHE',
  264: 'READONLY_RECOVERY', 520: 'READONLY_CANTLOCK', 776: 'READONLY_ROLLBACK', 1032: 'READONLY_DBMOVED', 1288: 'READONLY_CANTINIT', 1544: 'READONLY_DIRECTORY',
  266: 'IOERR_READ', 522: 'IOERR_SHORT_READ', 778: 'IOERR_WRITE', 1034: 'IOERR_FSYNC', 1290: 'IOERR_DIR_FSYNC', 1546: 'IOERR_TRUNCATE', 1802: 'IOERR_FSTAT', 2058: 'IOERR_UNLOCK', 2314: 'IOERR_RDLOCK', 2570: 'IOERR_DELETE', 3082: 'IOERR_NOMEM', 3338: 'IOERR_ACCESS', 3594: 'IOERR_CHECKRESERVEDLOCK', 3850: 'IOERR_LOCK', 4106: 'IOERR_CLOSE', 4618: 'IOERR_SHMOPEN', 4874: 'IOERR_SHMSIZE', 5386: 'IOERR_SHMMAP', 5642: 'IOERR_SEEK', 5898: 'IOERR_DELETE_NOENT', 6410: 'IOERR_GETTEMPPATH', 6666: 'IOERR_CONVPATH',
  270: 'CANTOPEN_NOTEMPDIR', 526: 'CANTOPEN_ISDIR', 782: 'CANTOPEN_FULLPATH',
  275: 'CONSTRAINT_CHECK', 531: 'CONSTRAINT_COMMITHOOK', 787: 'CONSTRAINT_FOREIGNKEY', 1043: 'CONSTRAINT_FUNCTION', 1299: 'CONSTRAINT_NOTNULL', 1555: 'CONSTRAINT_PRIMARYKEY', 1811: 'CONSTRAINT_TRIGGER', 2067: 'CONSTRAINT_UNIQUE', 2323: 'CONSTRAINT_VTAB', 2579: 'CONSTRAINT_ROWID',
  267: 'CORRUPT_VTAB', 283: 'NOTICE_RECOVER_WAL', 539: 'NOTICE_RECOVER_ROLLBACK',
};

/** node:sqlite's error (code ERR_SQLITE_ERROR, errcode N) as better-sqlite3's (code SQLITE_X). */
export function sqliteCodeName(errcode: number): string {
  return `SQLITE_${extended[errcode] ?? primary[errcode & 0xff] ?? 'ERROR'}`;
}

function normalised(err: unknown): unknown {
  const e = err as Error & { code?: string; errcode?: number };
  if (e instanceof Error && e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number') {
    return Object.assign(new Error(e.message, { cause: e }), { name: 'SqliteError', code: sqliteCodeName(e.errcode) });
  }
  return err;
}

function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw normalised(err);
  }
}

// Rows come with a null prototype from node:sqlite; give them Object's, as better-sqlite3 does.
const plain = (row: unknown): unknown => (row && typeof row === 'object' ? { ...row } : row);

function nodeBackend(lib: NodeSqlite, path: string, o: OpenOptions): Backend {
  const db = guard(() => new lib.DatabaseSync(path, { readOnly: o.readonly === true }));
  let open = true;
  return {
    get open() {
      return db.isOpen ?? open;
    },
    prepare(sql) {
      const s = guard(() => db.prepare(sql));
      return {
        run: (...p) => {
          const r = guard(() => s.run(...p));
          return { changes: Number(r.changes), lastInsertRowid: r.lastInsertRowid };
        },
        get: (...p) => plain(guard(() => s.get(...p))),
        all: (...p) => guard(() => s.all(...p)).map(plain),
        iterate: (...p) => {
          const it = guard(() => s.iterate(...p));
          const wrapped: IterableIterator<unknown> = {
            next: () => {
              const r = guard(() => it.next());
              return r.done ? r : { done: false, value: plain(r.value) };
            },
            return: (v?: unknown) => it.return?.(v) ?? { done: true, value: v },
            [Symbol.iterator]() {
              return wrapped;
            },
          };
          return wrapped;
        },
      };
    },
    exec: (sql) => guard(() => db.exec(sql)),
    // node:sqlite's all() gives [] for a pragma that sets; better-sqlite3 does the same in pragma().
    pragma: (source, o) => {
      const rows = guard(() => db.prepare(`PRAGMA ${source}`).all()) as Record<string, unknown>[];
      return o.simple ? (rows[0] ? Object.values(rows[0])[0] : undefined) : rows.map(plain);
    },
    close: () => {
      if (!open) return;
      open = false;
      db.close();
    },
  };
}

// --- better-sqlite3 (Node 20) --------------------------------------------------------
type BetterSqlite3 = new (path: string, o?: { readonly?: boolean; fileMustExist?: boolean }) => Backend & { open: boolean };

function betterBackend(path: string, o: OpenOptions): Backend {
  let Ctor: BetterSqlite3;
  try {
    Ctor = require('better-sqlite3') as BetterSqlite3;
  } catch (err) {
    throw new Error(`SQLite: this Node (${process.version}) has no node:sqlite (22.13 or later has) and better-sqlite3 could not be loaded: ${(err as Error).message}`, { cause: err });
  }
  return new Ctor(path, { readonly: o.readonly === true, fileMustExist: o.fileMustExist === true });
}

const nodeSqlite = loadNodeSqlite();

/** Which implementation this process uses. */
export const sqliteBackend: 'node:sqlite' | 'better-sqlite3' = nodeSqlite ? 'node:sqlite' : 'better-sqlite3';

/**
 * Page cache per connection, in KiB (SQLite's negative cache_size): SQLite's own default,
 * which node:sqlite keeps. better-sqlite3 is built with 16 MB, and the router holds several
 * connections: as the journal grows, each fills its 16 MB with pages it read once, and the
 * router's native heap grows by as much in a long run (glibc heap 20.7 against 34.3 MB on
 * a 76 MB journal). A lookup misses the cache for a leaf page then and reads it from the
 * OS's file cache: 10.7 against 9.7 µs on a journal of 200,000 CDRs.
 */
export const PAGE_CACHE_KIB = 2000;

export class Database {
  readonly name: string;
  readonly readonly: boolean;
  private readonly impl: Backend;
  private depth = 0;

  constructor(path: string, o: OpenOptions = {}) {
    this.name = path;
    this.readonly = o.readonly === true;
    if (nodeSqlite) {
      if (o.fileMustExist && path !== ':memory:' && !existsSync(path)) {
        throw Object.assign(new Error(`unable to open database file ${path}`), { name: 'SqliteError', code: 'SQLITE_CANTOPEN' });
      }
      this.impl = nodeBackend(nodeSqlite, path, o);
    } else {
      this.impl = betterBackend(path, o);
    }
    this.impl.pragma(`cache_size = -${PAGE_CACHE_KIB}`, {});
  }

  get open(): boolean {
    return this.impl.open;
  }

  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> {
    return this.impl.prepare(sql) as Statement<P, R>;
  }

  exec(sql: string): this {
    this.impl.exec(sql);
    return this;
  }

  /** `PRAGMA <source>`: the rows, or with `simple` the first column of the first row. */
  pragma(source: string, o: { simple?: boolean } = {}): unknown {
    return this.impl.pragma(source, o);
  }

  /** Wraps fn in BEGIN/COMMIT (a SAVEPOINT when nested); any throw rolls back. */
  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
    return (...args: A): T => {
      const nested = this.depth > 0;
      const sp = `sticky_sp${this.depth}`;
      this.impl.exec(nested ? `SAVEPOINT ${sp}` : 'BEGIN');
      this.depth++;
      try {
        const out = fn(...args);
        this.impl.exec(nested ? `RELEASE ${sp}` : 'COMMIT');
        return out;
      } catch (err) {
        try {
          this.impl.exec(nested ? `ROLLBACK TO ${sp}; RELEASE ${sp}` : 'ROLLBACK');
        } catch {
          // SQLite already rolled back (e.g. SQLITE_FULL ends the transaction): keep the first error.
        }
        throw err;
      } finally {
        this.depth--;
      }
    };
  }

  close(): void {
    this.impl.close();
  }
}
