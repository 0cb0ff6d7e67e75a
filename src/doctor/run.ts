// Runs the checks one after the other and prints one line per verdict:
//   OK   <check>  what was seen
//   FIX  <check>  what is wrong, and what to change
// A check that cannot run (no AMI session, an error) is a FIX too: "all is well" is
// only said when every check looked and was satisfied.
import type { Check, DoctorContext, Verdict } from './check.js';

export interface DoctorReport {
  lines: { check: string; verdict: Verdict }[];
  ok: boolean;
}

export async function runDoctor(checks: readonly Check[], ctx: DoctorContext, print: (line: string) => void): Promise<DoctorReport> {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: DoctorReport['lines'] = [];
  let amiFailed: string | undefined;
  const guarded: DoctorContext = {
    ...ctx,
    ami: async () => {
      try {
        return await ctx.ami();
      } catch (err) {
        amiFailed = (err as Error).message;
        throw err;
      }
    },
  };
  for (const check of checks) {
    let verdicts: Verdict[];
    try {
      const v = await check.run(guarded);
      verdicts = Array.isArray(v) ? v : [v];
    } catch (err) {
      const why = amiFailed !== undefined && check.name !== 'ami' ? 'not checked: no AMI session (see `ami`)' : `not checked: ${(err as Error).message}`;
      verdicts = [{ ok: false, message: why }];
    }
    for (const verdict of verdicts) {
      lines.push({ check: check.name, verdict });
      print(`${verdict.ok ? 'OK ' : 'FIX'}  ${check.name.padEnd(width)}  ${verdict.message}`);
    }
  }
  const bad = lines.filter((l) => !l.verdict.ok).length;
  print(bad === 0 ? `all ${lines.length} checks OK` : `${bad} of ${lines.length} to fix`);
  return { lines, ok: bad === 0 };
}
