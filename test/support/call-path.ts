// The router's call path in one process, for unit tests: StasisApp on a FakeAri, the
// ring tracker fed by an AmiFeeder, and each call's lifecycle with hooks that record
// what the router would log, count, publish and learn. Lookups and agent states are
// tables the test fills.
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { StasisApp } from '../../src/ari/stasis-app.js';
import { amiSessionFilters } from '../../src/ami/filter.js';
import type { AbandonEvent } from '../../src/abandon/sink.js';
import type { Call } from '../../src/routing/call.js';
import { callHooks } from '../../src/routing/call-hooks.js';
import type { AgentState } from '../../src/routing/decide.js';
import type { MemberLookup } from '../../src/queue/members.js';
import { DidPolicies, type RoutesFile } from '../../src/routing/did-policy.js';
import { CallLifecycle } from '../../src/routing/lifecycle.js';
import type { LastAgentSource } from '../../src/routing/lookup.js';
import { RingTracker, ringTrackerEvents } from '../../src/routing/ring-tracker.js';
import { AmiFeeder } from './ami-feeder.js';
import { FakeAri } from './fake-ari.js';

export interface CallPath {
  ari: FakeAri;
  ami: AmiFeeder;
  app: StasisApp;
  ringTracker: RingTracker;
  /** Decision records, in the order written. */
  records: Record<string, unknown>[];
  abandons: AbandonEvent[];
  learned: { e164: string; agent: string; talkSeconds: number }[];
  lives: CallLifecycle[];
  /** The agent the lookup finds for a number (e164), and when they talked. */
  history: Map<string, { agent: string; minutesAgo: number }>;
  agentStates: Map<string, AgentState>;
  lookupCalls: string[];
  /** Moves the AMI side's clock on (talk time, ring time). */
  advance(ms: number): void;
  /** Resolves when `n` decision records have been written. */
  recordsReach(n: number, timeoutMs?: number): Promise<void>;
}

export function callPath(o: { routes?: RoutesFile; lookup?: LastAgentSource; attach?: boolean; queueMember?: (queue: string, agent: string) => MemberLookup | undefined } = {}): CallPath {
  const ari = new FakeAri();
  const ami = new AmiFeeder(amiSessionFilters([ringTrackerEvents]));
  const records: Record<string, unknown>[] = [];
  const abandons: AbandonEvent[] = [];
  const learned: CallPath['learned'] = [];
  const lives: CallLifecycle[] = [];
  const history = new Map<string, { agent: string; minutesAgo: number }>();
  const agentStates = new Map<string, AgentState>();
  const lookupCalls: string[] = [];
  const log = pino({ level: 'silent' });
  const policies = DidPolicies.fromConfig({ STICKY_WINDOW: 1800_000, AGENT_RING_TIMEOUT: 20_000, FALLBACK_CONTEXT: 'ivr', FALLBACK_EXTENSION: 's' }, o.routes);
  const lookup: LastAgentSource = o.lookup ?? {
    name: 'table',
    lastAgentFor: async (e164) => {
      lookupCalls.push(e164);
      const h = history.get(e164);
      return h ? { agent: h.agent, endedAt: DateTime.utc().minus({ minutes: h.minutesAgo }), talkSeconds: 60, source: 'memory' } : undefined;
    },
  };
  const hooks = callHooks({
    log,
    metrics: { decision: () => undefined, ring: () => undefined, lookup: () => undefined },
    recent: { remember: () => undefined, settled: () => undefined },
    publishAbandon: (e) => abandons.push(e),
    memory: { remember: (e164, agent, _at, talkSeconds) => learned.push({ e164, agent, talkSeconds }) },
    policies,
  });
  const waiters: (() => void)[] = [];
  const recording = { ...hooks, onRecord: (call: Call) => { records.push(call.record()); hooks.onRecord(call); for (const w of waiters.splice(0)) w(); } };
  let skew = 0;
  const ringTracker = new RingTracker(() => Date.now() + skew);
  ami.on('event', (e) => ringTracker.onAmiEvent(e));
  const app = new StasisApp({
    lookup,
    agentState: (a) => agentStates.get(a) ?? 'unknown',
    ...(o.queueMember ? { queueMember: o.queueMember } : {}),
    policies,
    region: 'US',
    lookupTimeoutMs: 300,
    clock: () => DateTime.utc(),
    log,
    enter: (call) => {
      const life = new CallLifecycle(call, recording);
      lives.push(life);
      return life;
    },
    beforeHandOff: (life, d) => {
      if (d.action === 'ring') ringTracker.track(life, d.ringTimeoutMs);
    },
    handOffFailed: (life) => ringTracker.forget(life),
  });
  if (o.attach !== false) app.attach(ari);
  const recordsReach = async (n: number, timeoutMs = 3000) => {
    const deadline = Date.now() + timeoutMs;
    while (records.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} decision records (have ${records.length})`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { ari, ami, app, ringTracker, records, abandons, learned, lives, history, agentStates, lookupCalls, recordsReach, advance: (ms) => (skew += ms) };
}
