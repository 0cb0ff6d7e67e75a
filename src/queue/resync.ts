// Re-reading queue state after an AMI (re)connect. Right after an Asterisk restart AMI
// answers before app_queue has loaded ("Invalid/unknown command: QueueStatus"), so one
// try is not enough: until a snapshot succeeds the queue checks are off, and a paused
// agent would be rung. Retries with backoff for as long as the session is the same one.
import { backoffDelay, sleep } from '../backoff.js';
import type { Logger } from '../log.js';

export interface ResyncOptions {
  log: Logger;
  /** False once this AMI session is gone (the next session starts its own resync) or the router stops. */
  current: () => boolean;
  signal?: AbortSignal;
  baseMs?: number;
  capMs?: number;
}

export async function resyncQueues(refresh: () => Promise<void>, o: ResyncOptions): Promise<boolean> {
  for (let attempt = 0; o.current() && !o.signal?.aborted; attempt++) {
    try {
      await refresh();
      if (attempt > 0) o.log.info({ attempts: attempt + 1 }, 'queue state reloaded; queue checks are on again');
      return true;
    } catch (err) {
      const retryInMs = backoffDelay(attempt, o.baseMs ?? 500, o.capMs ?? 15_000);
      // One warning, then quiet retries: the state is logged when it changes.
      if (attempt === 0) o.log.warn({ err: (err as Error).message, retryInMs }, 'queue state not reloaded; queue checks are off until it is');
      await sleep(retryInMs, o.signal);
    }
  }
  return false;
}
