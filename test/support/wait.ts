// The tests' two ways of waiting, each written once:
//   Feed<T>   things that arrive (router log lines, AMI events): wait for the first
//             one that matches, already arrived or still to come; fail with `what`.
//   poll()    ask again every few ms until the answer is right (ARI, Elasticsearch,
//             files); fail with the last answer. waitUntil() is its boolean form.
import type { ChildProcess } from 'node:child_process';

export class Feed<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly o: {
      label: string;
      /** Appended to a failure: the process's stderr tail, say. */
      context?: () => string;
      /** A waiter fails at once when this process exits. */
      process?: ChildProcess;
      /** Keep only the newest `keep` items (a long benchmark run). */
      keep?: number;
    } = { label: 'feed' },
  ) {}

  push(item: T): void {
    this.items.push(item);
    if (this.o.keep !== undefined && this.items.length > this.o.keep) this.items.shift();
    for (const w of [...this.waiters]) w();
  }

  /** The first item matching `pred` (from `from` on), or a rejection after timeoutMs (or when the process exits). */
  waitFor(pred: (item: T) => boolean, timeoutMs: number, what: string, from = 0): Promise<T> {
    const find = () => {
      for (let i = from; i < this.items.length; i++) if (pred(this.items[i]!)) return this.items[i];
      return undefined;
    };
    const hit = find();
    if (hit !== undefined) return Promise.resolve(hit);
    const context = () => (this.o.context ? `; ${this.o.context()}` : '');
    return new Promise((resolve, reject) => {
      const done = () => {
        this.waiters.delete(check);
        clearTimeout(timer);
        this.o.process?.off('exit', onExit);
      };
      const check = () => {
        const item = find();
        if (item === undefined) return;
        done();
        resolve(item);
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`${this.o.label} exited (${code}) while waiting for ${what}${context()}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context()}`));
      }, timeoutMs);
      this.waiters.add(check);
      this.o.process?.once('exit', onExit);
    });
  }
}

/** Calls `get` until `done(value)` or the deadline; the last value (or error) goes into the error. */
export async function poll<T>(get: () => T | Promise<T>, done: (v: T) => boolean, timeoutMs: number, what: string, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await get();
      lastErr = undefined;
      if (done(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const seen = lastErr ? `last error: ${(lastErr as Error).message}` : `last value: ${JSON.stringify(last)?.slice(0, 400)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${seen}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until `pred()` holds or the deadline passes; says whether it held (for reports that record a miss instead of failing). */
export async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<boolean> {
  return poll(pred, (v) => v, timeoutMs, 'condition', everyMs).then(
    () => true,
    () => false,
  );
}
