// The lookup budget as an AbortSignal that also knows its deadline. An AbortSignal
// alone cannot say how much time is left, and Elasticsearch's requestTimeout wants
// a number: signals made here carry their deadline on the side.
const deadlines = new WeakMap<AbortSignal, number>();

/** A signal that aborts after `ms` (or when `parent` aborts, whichever is first). */
export function budgetSignal(ms: number, parent?: AbortSignal): AbortSignal {
  const own = AbortSignal.timeout(Math.max(0, Math.floor(ms)));
  const signal = parent ? AbortSignal.any([parent, own]) : own;
  const parentDeadline = parent ? deadlines.get(parent) : undefined;
  deadlines.set(signal, Math.min(Date.now() + ms, parentDeadline ?? Number.POSITIVE_INFINITY));
  return signal;
}

/** Milliseconds left before `signal` aborts; undefined for a signal not made by budgetSignal. */
export function remainingMs(signal: AbortSignal): number | undefined {
  if (signal.aborted) return 0;
  const deadline = deadlines.get(signal);
  return deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
}

