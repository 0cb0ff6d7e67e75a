// What the router wrote to AMI, as recorded by the TCP tap, parsed back into
// actions. AMI is `Key: Value` lines, CRLF, a blank line ends an action: a CR or
// LF smuggled into a value shows up here as an extra line, a line without a key,
// an unknown key, or a second action.
import type { TcpTap } from '../support/tcp-tap.js';

export interface WireAction {
  conn: number;
  at: number;
  fields: [string, string][];
  action: string;
  raw: string;
}

export interface WireReport {
  actions: WireAction[];
  byAction: Map<string, number>;
  /** Problems: unknown action, unknown key, a line that is not `Key: Value`, a bare CR/LF inside a block. */
  problems: string[];
}

/** The keys each action the router sends may carry (asterisk-ami-client adds ActionID; Login may carry Events). */
const allowed: Record<string, Set<string>> = {
  login: new Set(['action', 'actionid', 'username', 'secret', 'events']),
  ping: new Set(['action', 'actionid']),
  queuelog: new Set(['action', 'actionid', 'queue', 'uniqueid', 'event', 'interface', 'message']),
  logoff: new Set(['action', 'actionid']),
  // Session event whitelist (src/ami/connection.ts applyFilters): constant filters, no caller data.
  filter: new Set(['action', 'actionid', 'operation', 'filter']),
  // Queue state (src/queue/members.ts): a snapshot at every (re)connect, constant fields.
  queuestatus: new Set(['action', 'actionid']),
  getconfig: new Set(['action', 'actionid', 'filename']),
  // The PBX's name (src/pbx: SystemName), read once per session: no fields at all.
  coresettings: new Set(['action', 'actionid']),
};

export function parseAmiWire(tap: TcpTap, since = 0): WireReport {
  const actions: WireAction[] = [];
  const problems: string[] = [];
  for (const c of tap.connections) {
    const text = tap.clientText(c);
    // Blocks end with CRLF CRLF; what follows the last one is an unfinished write (connection cut).
    const blocks = text.split('\r\n\r\n');
    const tail = blocks.pop() ?? '';
    if (tail.trim() !== '') problems.push(`conn ${c.id}: unterminated trailing data ${JSON.stringify(tail.slice(0, 120))}`);
    for (const raw of blocks) {
      if (raw === '') continue;
      const lines = raw.split('\r\n');
      const fields: [string, string][] = [];
      for (const line of lines) {
        if (/[\r\n]/.test(line)) problems.push(`conn ${c.id}: bare CR/LF inside a line ${JSON.stringify(line.slice(0, 120))}`);
        const m = /^([A-Za-z0-9_-]+): ?(.*)$/s.exec(line);
        if (!m) {
          problems.push(`conn ${c.id}: not a "Key: Value" line ${JSON.stringify(line.slice(0, 120))}`);
          continue;
        }
        fields.push([m[1]!, m[2]!]);
      }
      const action = fields.find(([k]) => k.toLowerCase() === 'action')?.[1] ?? '';
      const keys = allowed[action.toLowerCase()];
      if (!keys) problems.push(`conn ${c.id}: unexpected action ${JSON.stringify(action)} in ${JSON.stringify(raw.slice(0, 160))}`);
      else for (const [k] of fields) if (!keys.has(k.toLowerCase())) problems.push(`conn ${c.id}: unexpected key ${JSON.stringify(k)} in ${action}`);
      if (fields.filter(([k]) => k.toLowerCase() === 'action').length > 1) problems.push(`conn ${c.id}: two Action lines in one block`);
      actions.push({ conn: c.id, at: c.openedAt, fields, action, raw });
    }
  }
  const byAction = new Map<string, number>();
  for (const a of actions.filter((x) => x.at >= since || since === 0)) byAction.set(a.action, (byAction.get(a.action) ?? 0) + 1);
  return { actions, byAction, problems };
}

/** Query clauses that scan the term dictionary or parse a query language: never on the call path. */
export const forbiddenQueryKeys = ['regexp', 'wildcard', 'query_string', 'simple_query_string', 'prefix', 'fuzzy', 'script', 'intervals', 'match', 'match_phrase', 'match_phrase_prefix', 'more_like_this', 'combined_fields', 'multi_match'];

/** Every key (at any depth) of a JSON value. */
export function deepKeys(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) deepKeys(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      deepKeys(x, out);
    }
  }
  return out;
}
