// The benchmark's PBX: the project's harness (test/harness), plus bench-only agent
// endpoints added to the *running copy* of pjsip.conf in the harness root (never
// to the repository's docker/asterisk/pjsip.conf) and removed again at the end.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, down, harnessSupported, runningPid, up } from '../../harness/asterisk.js';
import { rootDir } from '../../harness/paths.js';

export { cli, runningPid };

const log = (m: string) => process.stderr.write(`bench: harness: ${m}\n`);

/** Starts the harness unless it is running; returns whether this call started it. */
export async function ensureHarness(): Promise<{ started: boolean } | { unsupported: string }> {
  const s = harnessSupported();
  if (!s.ok) return { unsupported: s.why };
  if (runningPid()) return { started: false };
  const r = await up(log);
  return { started: r.started };
}

export async function stopHarness(): Promise<void> {
  await down(log);
}

const marker = '; ---- sticky-router benchmark agents (added by test/bench, removed at its end) ----';
const pjsipConf = () => join(rootDir, 'etc/asterisk/pjsip.conf');

/**
 * Adds agents `first`..`first+count-1` whose static contacts all point at one sipp
 * UAS (sip:<ext>@127.0.0.1:<port>): the request-URI user tells which agent rang.
 * No qualify: `count` OPTIONS pings every 2 s would be load no real phone adds.
 */
export function addBenchAgents(first: number, count: number, port: number): void {
  const file = pjsipConf();
  const base = stripBenchAgents(readFileSync(file, 'utf8'));
  const lines = [marker, '[bench-agent-aor](!)', 'type = aor', 'max_contacts = 1', 'qualify_frequency = 0', ''];
  for (let ext = first; ext < first + count; ext++) {
    lines.push(`[${ext}](agent-endpoint)`, `aors = ${ext}`, `callerid = Bench agent ${ext} <${ext}>`, `[${ext}](bench-agent-aor)`, `contact = sip:${ext}@127.0.0.1:${port}`, '');
  }
  writeFileSync(file, `${base}\n${lines.join('\n')}\n`);
  reloadPjsip();
  const check = cli(`pjsip show endpoint ${first + count - 1}`);
  if (!/Endpoint:\s+\d+/.test(check)) throw new Error(`bench agents did not load: ${check.slice(0, 300)}`);
}

export function removeBenchAgents(): void {
  const file = pjsipConf();
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  if (!text.includes(marker)) return;
  writeFileSync(file, stripBenchAgents(text));
  reloadPjsip();
}

function stripBenchAgents(text: string): string {
  const i = text.indexOf(marker);
  return (i < 0 ? text : text.slice(0, i)).replace(/\n+$/, '\n');
}

function reloadPjsip(): void {
  cli('module reload res_pjsip.so');
}

export function asteriskVersion(): string {
  return /Asterisk\s+\S+/.exec(cli('core show version'))?.[0] ?? 'unknown';
}

/** utime+stime of a process in seconds (/proc/<pid>/stat fields 14 and 15). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14 → index 11, stime 15 → index 12.
    return (Number(fields[11]) + Number(fields[12])) / 100; // CLK_TCK is 100 on Linux
  } catch {
    return NaN;
  }
}

/**
 * Voluntary context switches of a process's main thread (/proc/<pid>/task/<pid>/status):
 * how often its event loop went to sleep and was woken. Each wake-up pays this machine's
 * cold-cache penalty (wake-penalty.ts), so wake-ups per call explain CPU per call.
 */
export function mainThreadWakeups(pid: number): number {
  try {
    const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
