// The AMI session filter, built from what the consumers declare. Each consumer of AMI
// events exports an AmiConsumer next to its code naming the events (and channel
// variables, for VarSet) it reads; src/app.ts passes them all to amiSessionFilters(),
// so a consumer cannot silently stop receiving an event it needs. A session filter
// whitelists: Asterisk sends an event that matches any one of the lines.
export interface AmiConsumer {
  /** For error messages and the architecture notes. */
  name: string;
  /** Event names, as in the `Event:` header. VarSet is implied by `variables`. */
  events: readonly string[];
  /** Channel variables read from VarSet, without the inheritance underscores. */
  variables?: readonly string[];
}

const word = /^[A-Za-z][A-Za-z0-9_]*$/;

/** AMI `Filter` lines for a session that reads exactly what `consumers` declare. */
export function amiSessionFilters(consumers: readonly AmiConsumer[]): string[] {
  const events = new Set<string>();
  const variables = new Set<string>();
  for (const c of consumers) {
    for (const e of c.events) {
      if (!word.test(e)) throw new Error(`${c.name}: ${JSON.stringify(e)} is not an AMI event name`);
      if (e !== 'VarSet') events.add(e);
    }
    for (const v of c.variables ?? []) {
      if (!word.test(v)) throw new Error(`${c.name}: ${JSON.stringify(v)} is not a channel variable name`);
      variables.add(v);
    }
  }
  const filters: string[] = [];
  // The filter is a regex searched for in the event's text, so `Event: (Hangup)` would
  // also pass HangupRequest, HangupHandlerPush and HangupHandlerRun (5 of a routed call's
  // 17 events): the name must end where the line does.
  if (events.size > 0) filters.push(`Event: (${[...events].sort().join('|')})[^A-Za-z0-9_]`);
  // VarSet only for the variables someone reads (`__NAME` when inherited): VarSet is
  // the most frequent event of a call.
  if (variables.size > 0) filters.push(`Variable: _*(${[...variables].sort().join('|')})`);
  return filters;
}

/**
 * Whether an event passes the filter lines as Asterisk applies them: each line is a
 * regular expression searched for in the event's text (`Header: value` lines).
 */
export function passesAmiFilters(filters: readonly string[], event: Record<string, string | undefined>): boolean {
  if (filters.length === 0) return true;
  const text = Object.entries(event)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  return filters.some((f) => new RegExp(f).test(text));
}
