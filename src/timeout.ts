// The one timeout race: settle like `work`, or reject with a TimeoutError after `ms`.
// The timer is always cleared, so a finished race leaves nothing behind. `work` is not
// cancelled by the timeout: hand it an AbortSignal for that.
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** `work` may be a function, so that one that throws synchronously rejects instead. */
export async function withTimeout<T>(work: Promise<T> | (() => T | Promise<T>), ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const p = typeof work === 'function' ? Promise.resolve().then(work) : work;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
