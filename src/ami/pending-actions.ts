// Matches AMI responses to the actions that asked, by ActionID. asterisk-ami-client's
// own promisable actions add two listeners with per-action event names, a 10 s timer
// and a promise chain for each action, and leave in-flight actions waiting for that
// timer when the socket drops (it emits `disconnect`, its actions wait on
// `disconnect_<id>`). Here: one map, one timer per action, and a drop rejects every
// action in flight at once ("disconnected": the callers' retry-later errors).
export interface AmiResponse {
  [field: string]: string | undefined;
}

interface Waiting {
  resolve(r: AmiResponse): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class PendingActions {
  private readonly waiting = new Map<string, Waiting>();
  private seq = 0;
  // Unique within a session is enough; the prefix keeps ids from another process apart in Asterisk's logs.
  private readonly prefix = `sr${process.pid}-${Date.now().toString(36)}-`;

  get size(): number {
    return this.waiting.size;
  }

  nextId(): string {
    return `${this.prefix}${++this.seq}`;
  }

  /** Resolves with the response carrying `id`; rejects with `timeoutMessage` after `timeoutMs`. */
  wait(id: string, timeoutMs: number, timeoutMessage: string): Promise<AmiResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(timeoutMessage));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
    });
  }

  /** A response from the socket: settles its action, if one waits for it. */
  settle(response: AmiResponse): void {
    const id = response.ActionID;
    if (typeof id !== 'string') return;
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    w.resolve(response);
  }

  /** The socket is gone: no response will come. */
  failAll(reason: string): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) {
      clearTimeout(w.timer);
      w.reject(new Error(reason));
    }
  }
}
