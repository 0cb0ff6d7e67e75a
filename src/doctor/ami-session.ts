// The doctor's AMI session: the router's own AmiConnection (same credentials, same
// sanitising), bounded in time, plus the two shapes of answer the checks read: a list
// (events carrying the action's ActionID until `EventList: Complete`) and a config file
// read back with GetConfig (needs `system` write, which the router's user has anyway).
import type { AmiMessage } from 'asterisk-ami-client';
import { AmiConnection, type AmiEvent } from '../ami/connection.js';
import type { Logger } from '../log.js';
import { withTimeout } from '../timeout.js';

export interface DoctorAmiOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  /** How long the login may take (Asterisk down or filtered: give up, do not retry forever). */
  loginTimeoutMs?: number;
}

/** A config file as Asterisk parsed it (includes followed): category -> [key, value] lines in order. */
export type ConfigFile = Map<string, [string, string][]>;

export class DoctorAmi {
  private constructor(private readonly conn: AmiConnection) {}

  static async connect(o: DoctorAmiOptions, log: Logger): Promise<DoctorAmi> {
    const conn = new AmiConnection({ host: o.host, port: o.port, username: o.username, password: o.password, actionTimeoutMs: 5000 }, log);
    const loginMs = o.loginTimeoutMs ?? 5000;
    try {
      await withTimeout(conn.start(), loginMs, `no AMI login at ${o.host}:${o.port} within ${loginMs} ms`);
    } catch (err) {
      await conn.stop();
      throw err;
    }
    return new DoctorAmi(conn);
  }

  action(fields: Record<string, string>): Promise<AmiMessage> {
    return this.conn.action(fields);
  }

  /** Sends a list action and collects its events (without the closing `...Complete` event). */
  async list(fields: Record<string, string>, timeoutMs = 5000): Promise<AmiEvent[]> {
    const seen: AmiEvent[] = [];
    let want: string | undefined;
    let finish: (() => void) | undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const onEvent = (e: AmiEvent) => {
      seen.push(e);
      if (want && e.ActionID === want && e.EventList === 'Complete') finish?.();
    };
    this.conn.on('event', onEvent);
    try {
      const res = await this.conn.action(fields, timeoutMs);
      want = String(res.ActionID);
      if (seen.some((e) => e.ActionID === want && e.EventList === 'Complete')) finish?.();
      await withTimeout(done, timeoutMs, `AMI ${fields.Action}: list not complete after ${timeoutMs} ms`);
      return seen.filter((e) => e.ActionID === want && e.EventList !== 'Complete');
    } finally {
      this.conn.removeListener('event', onEvent);
    }
  }

  /** GetConfig: the file as Asterisk reads it from disk (a change is live only after a reload). */
  async config(filename: string): Promise<ConfigFile> {
    const res = await this.conn.action({ Action: 'GetConfig', Filename: filename });
    const out: ConfigFile = new Map();
    const categories = new Map<string, string>();
    for (const [k, v] of Object.entries(res)) {
      const c = /^Category-(\d+)$/.exec(k);
      if (c) categories.set(c[1]!, String(v));
    }
    const lines = Object.entries(res)
      .map(([k, v]) => [/^Line-(\d+)-(\d+)$/.exec(k), String(v)] as const)
      .filter((e): e is [RegExpExecArray, string] => e[0] !== null)
      .sort(([a], [b]) => Number(a[1]) - Number(b[1]) || Number(a[2]) - Number(b[2]));
    for (const cat of categories.values()) if (!out.has(cat)) out.set(cat, []);
    for (const [m, line] of lines) {
      const cat = categories.get(m[1]!);
      if (cat === undefined) continue;
      const eq = line.indexOf('=');
      out.get(cat)!.push(eq < 0 ? [line.trim(), ''] : [line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.conn.stop();
  }
}

/** The last value of `key` in a category (Asterisk's own rule for repeated scalar options). */
export function lastValue(file: ConfigFile, category: string, key: string): string | undefined {
  const lines = file.get(category);
  if (!lines) return undefined;
  let v: string | undefined;
  for (const [k, val] of lines) if (k.toLowerCase() === key.toLowerCase()) v = val;
  return v;
}

/** Asterisk's ast_true(). */
export function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(yes|true|y|t|1|on)$/i.test(v.trim());
}
