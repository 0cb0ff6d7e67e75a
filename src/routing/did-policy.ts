// Per-DID settings: window, ring timeout, fallback target, on/off, whether to wait
// for a busy sticky agent, minimum talk time, the short-abandon threshold, how many
// previous agents to try, whether unanswered outbound attempts count, and the queue
// whose membership and pause state decide. Loaded from ROUTES_FILE (JSON), validated
// like the environment, falling back to the environment's values.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Config } from '../config.js';
import { isoDuration } from '../env.js';

export interface DidPolicy {
  enabled: boolean;
  windowMs: number;
  ringTimeoutMs: number;
  fallback: { context: string; extension: string };
  /** Wait up to this long for a busy sticky agent instead of falling back; 0 = do not wait. */
  waitForBusyAgentMs: number;
  /** Minimum talk time that counts as "talked" (the CDR pipeline reads it). */
  minTalkSeconds: number;
  /** ROUTES_FILE "record": false keeps this DID's calls unrecorded when RECORDINGS=on; unset follows RECORDINGS. */
  record?: boolean;
  /** How many of the caller's most recent distinct agents to try, newest first. */
  maxAgents: number;
  /** An agent's unanswered outbound call to the customer makes that agent sticky too. */
  learnFromAttempts: boolean;
  /**
   * The Asterisk queue the DID's agents work in. When set, an agent is rung only while
   * a member of it, logged in, not paused and not in wrap-up (AMI queue state).
   */
  queue?: string;
  /** An abandon shorter than this is recorded with short: true and notifies nobody; 0 = off. */
  shortAbandonMs: number;
}

const iso = isoDuration({ allowZero: true, expected: (raw) => `an ISO-8601 duration such as PT30M, got ${JSON.stringify(raw)}` });
const dialplanName = z.string().regex(/^[A-Za-z0-9_+.-]+$/, 'letters, digits, _ + . or - only');
const override = z
  .object({
    enabled: z.boolean().optional(),
    window: iso.optional(),
    ringTimeout: iso.optional(),
    fallback: z.object({ context: dialplanName, extension: dialplanName }).strict().optional(),
    waitForBusyAgent: iso.optional(),
    minTalkSeconds: z.number().int().min(0).optional(),
    record: z.boolean().optional(),
    maxAgents: z.number().int().min(1).max(10).optional(),
    learnFromAttempts: z.boolean().optional(),
    queue: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a queue name from queues.conf').optional(),
    shortAbandon: iso.optional(),
  })
  .strict();
const file = z.object({ default: override.optional(), dids: z.record(z.string().regex(/^\+?[0-9]{1,20}$/, 'a DID of digits'), override).default({}) }).strict();

export type RoutesFile = z.input<typeof file>;

export class DidPolicies {
  private constructor(private readonly base: DidPolicy, private readonly dids: Map<string, DidPolicy>) {}

  static fromConfig(config: Pick<Config, 'STICKY_WINDOW' | 'AGENT_RING_TIMEOUT' | 'FALLBACK_CONTEXT' | 'FALLBACK_EXTENSION'> & Partial<Pick<Config, 'MIN_TALK_SECONDS' | 'SHORT_ABANDON'>>, routes?: RoutesFile): DidPolicies {
    const parsed = file.safeParse(routes ?? {});
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      const expected = i.code === 'invalid_key' ? 'a DID of digits (optionally with +)' : i.message;
      throw new Error(`ROUTES_FILE: ${i.path.join('.')}: expected ${expected}`);
    }
    const env: DidPolicy = {
      enabled: true,
      windowMs: config.STICKY_WINDOW,
      ringTimeoutMs: config.AGENT_RING_TIMEOUT,
      fallback: { context: config.FALLBACK_CONTEXT, extension: config.FALLBACK_EXTENSION },
      waitForBusyAgentMs: 0,
      minTalkSeconds: config.MIN_TALK_SECONDS ?? 1,
      maxAgents: 2,
      learnFromAttempts: true,
      shortAbandonMs: config.SHORT_ABANDON ?? 5000,
    };
    const merge = (b: DidPolicy, o: z.output<typeof override> | undefined): DidPolicy => ({
      enabled: o?.enabled ?? b.enabled,
      windowMs: o?.window ?? b.windowMs,
      ringTimeoutMs: o?.ringTimeout ?? b.ringTimeoutMs,
      fallback: o?.fallback ?? b.fallback,
      waitForBusyAgentMs: o?.waitForBusyAgent ?? b.waitForBusyAgentMs,
      minTalkSeconds: o?.minTalkSeconds ?? b.minTalkSeconds,
      ...((o?.record ?? b.record) !== undefined ? { record: o?.record ?? b.record } : {}),
      maxAgents: o?.maxAgents ?? b.maxAgents,
      learnFromAttempts: o?.learnFromAttempts ?? b.learnFromAttempts,
      ...((o?.queue ?? b.queue) !== undefined ? { queue: o?.queue ?? b.queue } : {}),
      shortAbandonMs: o?.shortAbandon ?? b.shortAbandonMs,
    });
    const base = merge(env, parsed.data.default);
    return new DidPolicies(base, new Map(Object.entries(parsed.data.dids).map(([did, o]) => [did, merge(base, o)])));
  }

  static load(config: Config): DidPolicies {
    if (!config.ROUTES_FILE) return DidPolicies.fromConfig(config);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(config.ROUTES_FILE, 'utf8'));
    } catch (err) {
      throw new Error(`ROUTES_FILE=${config.ROUTES_FILE}: cannot read JSON: ${(err as Error).message}`);
    }
    return DidPolicies.fromConfig(config, json as RoutesFile);
  }

  /** Every queue a DID (or the default) names: each must exist on the PBX. */
  queues(): string[] {
    return [...new Set([this.base, ...this.dids.values()].map((p) => p.queue).filter((q): q is string => q !== undefined))];
  }

  for(did: string | undefined): DidPolicy {
    return (did !== undefined && this.dids.get(did)) || this.base;
  }
}
