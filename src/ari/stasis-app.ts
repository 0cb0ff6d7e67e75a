// The ARI side of a call: StasisStart creates the call's object and routes it;
// StasisEnd marks that it left. The app registers only client-wide listeners (no
// per-channel ones, which ari-client never frees), and keeps calls in a map that
// StasisEnd empties.
import type { Channel, Client, StasisStart, StasisEnd } from 'ari-client';
import type { Logger } from '../log.js';
import type { Call } from '../routing/call.js';
import type { Decision } from '../routing/decide.js';
import { newCall, routeCall, type RouterDeps } from '../routing/router.js';
import { dialplanTarget } from './handoff.js';

export interface StasisAppDeps extends Omit<RouterDeps, 'handOff' | 'indicateRinging'> {
  log: Logger;
  /**
   * Called just before the hand-off: Asterisk's Dial starts the moment `continue`
   * lands, and its AMI events can beat the HTTP response, so whoever follows the
   * ring must know the call by then.
   */
  beforeHandOff(call: Call, decision: Decision): void;
  /** The hand-off failed: undo beforeHandOff. */
  handOffFailed(call: Call): void;
  /** Called once the decision is made and the call handed off (or failed to be). */
  onDecided(call: Call, decision: Decision): void;
  /** Whether the dialplan records this DID's call (RECORDINGS and the DID's "record"); unset: it does not. */
  recordCall?(did: string | undefined): boolean;
}

export class StasisApp {
  /** Calls currently inside Stasis, by channel id. */
  readonly inStasis = new Map<string, Call>();

  constructor(private readonly deps: StasisAppDeps) {}

  attach(client: Client, app?: string): void {
    client.on('StasisStart', (event: StasisStart, channel: Channel) => {
      void this.onStart(client, event, channel).catch((err: Error) => this.deps.log.error({ err, channel: channel?.id }, 'stasis start failed'));
    });
    if (app) void this.rescueStranded(client, app);
    client.on('StasisEnd', (_event: StasisEnd, channel: Channel) => {
      const call = channel && this.inStasis.get(channel.id);
      if (!call) return;
      call.leftStasis = true;
      this.inStasis.delete(channel.id);
    });
  }

  /**
   * Callers who were inside Stasis when a previous router process died stay in the
   * app: Asterisk sends no new StasisStart for them. Route each one on registration
   * (their DID is the extension they entered [sticky-inbound] with).
   */
  private async rescueStranded(client: Client, app: string): Promise<void> {
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

  private async onStart(client: Client, event: StasisStart, channel: Channel): Promise<void> {
    if (!channel?.id || this.inStasis.has(channel.id)) return;
    // Every channel we see entered Stasis from [sticky-inbound] with the DID as its
    // argument; the router originates nothing, so there are no agent legs to skip.
    const did = typeof event.args?.[0] === 'string' && event.args[0] !== '' ? event.args[0] : undefined;
    const call = newCall(channel.id, did, channel.caller?.number, this.deps);
    this.inStasis.set(channel.id, call);
    const decision = await routeCall(call, {
      ...this.deps,
      handOff: async (c, d) => {
        const t = dialplanTarget(d, this.deps.recordCall?.(did));
        this.deps.beforeHandOff(c, d);
        try {
          // A queue member's interface (hot desk, Local/…@from-queue/n): [sticky-ring] dials STICKY_DIAL.
          if (d.action === 'ring' && d.dial) await client.channels.setChannelVar({ channelId: c.channelId, variable: 'STICKY_DIAL', value: d.dial });
          await client.channels.continueInDialplan({ channelId: c.channelId, context: t.context, extension: t.extension, priority: t.priority });
        } catch (err) {
          this.deps.handOffFailed(c);
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
      const policy = this.deps.policies.for(did);
      const original = call.decision;
      const fb: Decision = {
        action: 'fallback',
        reason: !original || original.action !== 'fallback' ? 'agent_unavailable' : original.reason,
        agent: original && 'agent' in original ? original.agent : undefined,
        fallback: original?.fallback ?? policy.fallback,
      };
      const t = dialplanTarget(fb, this.deps.recordCall?.(did));
      await client.channels.continueInDialplan({ channelId: channel.id, context: t.context, extension: t.extension, priority: t.priority }).catch(() => undefined);
      call.decision = fb;
      call.reason = fb.reason;
      return fb;
    });
    this.deps.onDecided(call, decision);
  }
}
