// GET /readyz: 200 only when the router can take calls as designed: the Stasis app
// is registered with ARI, AMI is logged in (ring outcomes, CDRs, abandons), and
// Elasticsearch answers, unless the router runs on the local journal only.
import { json, type Route } from '../reply.js';
import { withTimeout } from '../../timeout.js';

/** true/false, or with a detail for the 503 body (e.g. "reconnecting, attempt 3"). */
export type ProbeResult = boolean | { ok: boolean; detail?: string };
export type Probe = () => ProbeResult | Promise<ProbeResult>;

export interface ReadinessProbes {
  /** The ARI WebSocket is up and the Stasis application is registered. */
  ari: Probe;
  /** The AMI connection is logged in. */
  ami: Probe;
  /** Elasticsearch answers. Omit it in journal-only mode (ES_NODE unset). */
  elasticsearch?: Probe;
  /** DATA_DIR takes writes (not: records are held in memory, see WriteBuffer). */
  storage?: Probe;
  /** Informational: notifications given up on. Reported with ok true; a detail says what to do. */
  notifications?: Probe;
}

export interface CheckResult {
  ok: boolean;
  detail?: string;
}

/** Runs every probe at once, each bounded by timeoutMs; a throw or a timeout is "not ready". */
export async function runProbes(probes: ReadinessProbes, timeoutMs: number): Promise<Record<string, CheckResult>> {
  const [ari, ami, elasticsearch, storage, notifications] = await Promise.all([
    runProbe(probes.ari, timeoutMs),
    runProbe(probes.ami, timeoutMs),
    probes.elasticsearch ? runProbe(probes.elasticsearch, timeoutMs) : Promise.resolve({ ok: true, detail: 'journal-only mode (ES_NODE unset)' }),
    probes.storage ? runProbe(probes.storage, timeoutMs) : undefined,
    probes.notifications ? runProbe(probes.notifications, timeoutMs) : undefined,
  ]);
  return { ari, ami, elasticsearch, ...(storage ? { storage } : {}), ...(notifications ? { notifications } : {}) };
}

async function runProbe(probe: Probe, timeoutMs: number): Promise<CheckResult> {
  try {
    const r = await withTimeout(probe, timeoutMs, `no answer within ${timeoutMs} ms`);
    return typeof r === 'boolean' ? { ok: r } : { ok: r.ok, ...(r.detail ? { detail: r.detail } : {}) };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

export const readyRoute = (probes: ReadinessProbes, timeoutMs: number): Route => async () => {
  const checks = await runProbes(probes, timeoutMs);
  const notReady = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
  return notReady.length === 0
    ? json(200, { status: 'ready', checks })
    : json(503, { status: 'not ready', notReady, checks });
};
