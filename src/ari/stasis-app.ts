// The ARI side of a call: StasisStart creates the call and its lifecycle and routes
// it; StasisEnd tells the lifecycle the channel left. The app registers only
// client-wide listeners (no per-channel ones, which ari-client never frees), and
// keeps calls in a map that StasisEnd empties.
import type { Channel, StasisStart, StasisEnd } from 'ari-client';
import type { Logger } from '../log.js';
import type { Call } from '../routing/call.js';
import type { Decision } from '../routing/decide.js';
import type { CallLifecycle } from '../routing/lifecycle.js';
import { newCall, routeCall, type RouterDeps } from '../routing/router.js';
import { channelVars } from '../dialplan.js';
import { dialplanTarget } from './handoff.js';

/** The ARI events the app handles (agent states: src/ari/agent-state.ts). */
export const stasisAppEvents = ['StasisStart', 'StasisEnd'] as const;

/** The part of ari-client's Client the app uses (test/support/fake-ari.ts implements it too). */
export interface StasisClient {
  /** receivedAt: performance.now() when the frame arrived, where the session knows it. */
  on(event: 'StasisStart', l: (event: StasisStart, channel: Channel, receivedAt?: number) => void): unknown;
  on(event: 'StasisEnd', l: (event: StasisEnd, channel: Channel) => void): unknown;
  applications: { get(o: { applicationName: string }): Promise<{ channel_ids?: string | string[] }> };
  channels: {
    get(o: { channelId: string }): Promise<Channel>;
    setChannelVar(o: { channelId: string; variable: string; value: string }): Promise<void>;
    continueInDialplan(o: { channelId: string; context: string; extension: string; priority: number }): Promise<void>;
    ring(o: { channelId: string }): Promise<void>;
  };
}

export interface StasisAppDeps extends Omit<RouterDeps, 'handOff' | 'indicateRinging'> {
  log: Logger;
  /** The call's lifecycle, with the hooks that log, count and learn from it. */
  enter(call: Call): CallLifecycle;
  /**
   * Called just before the hand-off: Asterisk's Dial starts the moment `continue`
   * lands, and its AMI events can beat the HTTP response, so whoever follows the
   * ring must know the call by then.
   */
  beforeHandOff(life: CallLifecycle, decision: Decision): void;
  /** The hand-off failed: undo beforeHandOff. */
  handOffFailed(life: CallLifecycle): void;
  /** Whether the dialplan records this DID's call (RECORDINGS and the DID's "record"); unset: it does not. */
  recordCall?(did: string | undefined): boolean;
}

export class StasisApp {
  /** Calls currently inside Stasis, by channel id. */
  readonly inStasis = new Map<string, CallLifecycle>();

  constructor(private readonly deps: StasisAppDeps) {}

  attach(client: StasisClient, app?: string): void {
    client.on('StasisStart', (event: StasisStart, channel: Channel, receivedAt?: number) => {
      void this.onStart(client, event, channel, receivedAt ?? performance.now()).catch((err: Error) => this.deps.log.error({ err, channel: channel?.id }, 'stasis start failed'));
    });
    if (app) void this.rescueStranded(client, app);
    client.on('StasisEnd', (_event: StasisEnd, channel: Channel) => {
      const life = channel && this.inStasis.get(channel.id);
      if (!life) return;
      life.leftStasis();
      this.inStasis.delete(channel.id);
    });
  }

  /**
   * Callers who were inside Stasis when a previous router process died stay in the
   * app: Asterisk sends no new StasisStart for them. Route each one on registration
   * (their DID is the extension they entered [sticky-inbound] with).
   */
  private async rescueStranded(client: StasisClient, app: string): Promise<void> {
    try {
      const info = await client.applications.get({ applicationName: app });
      const stranded = [info.channel_ids ?? []].flat().filter((id) => !this.inStasis.has(id));
      for (const id of stranded) {
        const channel = await client.channels.get({ channelId: id }).catch(() => undefined);
        if (!channel) continue;
        this.deps.log.warn({ channel: id }, 'routing a caller left in Stasis by an earlier router process');
        await this.onStart(client, { args: [channel.dialplan?.exten] } as unknown as StasisStart, channel);
      }
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'could not check for callers left in Stasis');
    }
  }

  private async onStart(client: StasisClient, event: StasisStart, channel: Channel, receivedAt = performance.now()): Promise<void> {
    if (!channel?.id || this.inStasis.has(channel.id)) return;
    // Every channel we see entered Stasis from [sticky-inbound] with the DID as its
    // argument; the router originates nothing, so there are no agent legs to skip.
    const did = typeof event.args?.[0] === 'string' && event.args[0] !== '' ? event.args[0] : undefined;
    const life = this.deps.enter(newCall(channel.id, did, channel.caller?.number, this.deps));
    life.call.frameAt = receivedAt;
    this.inStasis.set(channel.id, life);
    await routeCall(life, {
      ...this.deps,
      handOff: async (c, d) => {
        const t = dialplanTarget(d, this.deps.recordCall?.(did));
        this.deps.beforeHandOff(life, d);
        try {
          // A queue member's interface (hot desk, Local/…@from-queue/n): [sticky-ring] dials STICKY_DIAL.
          if (d.action === 'ring' && d.dial) await client.channels.setChannelVar({ channelId: c.channelId, variable: channelVars.dial, value: d.dial });
          c.continueIssuedAt = performance.now();
          await client.channels.continueInDialplan({ channelId: c.channelId, context: t.context, extension: t.extension, priority: t.priority });
        } catch (err) {
          this.deps.handOffFailed(life);
          throw err;
        }
      },
      indicateRinging: async (c) => {
        await client.channels.ring({ channelId: c.channelId });
      },
    }).catch(async (err: Error) => {
      // The continue failed (the channel vanished, or ARI hiccuped): a live caller must
      // not stay in Stasis, so try once more straight to the fallback, keeping the reason.
      this.deps.log.warn({ err: err.message, channel: channel.id }, 'hand-off failed; sending to fallback');
      const original = life.call.decision;
      const fb: Extract<Decision, { action: 'fallback' }> = {
        action: 'fallback',
        reason: !original || original.action !== 'fallback' ? 'agent_unavailable' : original.reason,
        agent: original && 'agent' in original ? original.agent : undefined,
        fallback: original?.fallback ?? this.deps.policies.for(did).fallback,
      };
      const t = dialplanTarget(fb, this.deps.recordCall?.(did));
      await client.channels.continueInDialplan({ channelId: channel.id, context: t.context, extension: t.extension, priority: t.priority }).catch(() => undefined);
      life.fellBack(fb);
    });
    life.settle();
  }
}
