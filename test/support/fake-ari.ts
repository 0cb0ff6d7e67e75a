// A small in-process stand-in for ari-client's Client, for unit tests of the ARI side
// (src/ari/stasis-app.ts, src/routing/router.ts): it emits StasisStart/StasisEnd like
// Asterisk does and records the requests the router makes. Each request can be held
// (to order it against events), failed, or answered at once.
import { EventEmitter } from 'node:events';
import type { Channel } from 'ari-client';

export interface ContinueRequest {
  channelId: string;
  context: string;
  extension: string;
  priority: number;
}

type Gate = { hold?: Promise<void>; fail?: Error };

export class FakeAri extends EventEmitter {
  readonly continued: ContinueRequest[] = [];
  readonly rung: string[] = [];
  /** setChannelVar requests, in order. */
  readonly vars: { channelId: string; variable: string; value: string }[] = [];
  /** Channel ids Asterisk reports inside the app (applications.get). */
  stranded: string[] = [];
  readonly liveChannels = new Map<string, Channel>();
  /** How the next `continue` requests behave, in order; then they succeed at once. */
  readonly continueGates: Gate[] = [];

  /** PJSIP endpoints as GET /endpoints/PJSIP lists them; `holdList` delays that answer. */
  endpointList: { resource: string; state: string; channel_ids: string[] }[] = [];
  holdList: Promise<void> | undefined;
  readonly subscriptions: string[] = [];

  readonly applications = {
    get: async (_o: { applicationName: string }) => ({ channel_ids: this.stranded }),
    subscribe: async (o: { applicationName: string; eventSource: string }) => {
      this.subscriptions.push(o.eventSource);
      return {};
    },
  };

  readonly endpoints = {
    listByTech: async (_o: { tech: string }) => {
      const snapshot = this.endpointList.map((e) => ({ ...e }));
      if (this.holdList) await this.holdList;
      return snapshot;
    },
  };

  /** A DeviceStateChanged event for `PJSIP/<agent>`. */
  deviceState(agent: string, state: string): void {
    this.emit('DeviceStateChanged', { type: 'DeviceStateChanged', device_state: { name: `PJSIP/${agent}`, state } });
  }

  readonly channels = {
    get: async ({ channelId }: { channelId: string }) => {
      const c = this.liveChannels.get(channelId);
      if (!c) throw new Error(`Channel not found: ${channelId}`);
      return c;
    },
    setChannelVar: async (o: { channelId: string; variable: string; value: string }) => {
      this.vars.push({ ...o });
    },
    continueInDialplan: async (o: ContinueRequest) => {
      const gate = this.continueGates.shift();
      if (gate?.hold) await gate.hold;
      if (gate?.fail) throw gate.fail;
      this.continued.push({ channelId: o.channelId, context: o.context, extension: o.extension, priority: o.priority });
      this.emit('continued', o);
    },
    ring: async ({ channelId }: { channelId: string }) => {
      this.rung.push(channelId);
    },
  };

  /** A caller channel as ARI describes it. */
  static channel(id: string, number: string, exten = '100'): Channel {
    return { id, name: `PJSIP/trunk-${id}`, caller: { number, name: '' }, dialplan: { context: 'sticky-inbound', exten, priority: 3 } } as unknown as Channel;
  }

  /** The caller enters Stasis(sticky-router, did). */
  start(channel: Channel, did: string | undefined): void {
    this.liveChannels.set(channel.id, channel);
    this.emit('StasisStart', { type: 'StasisStart', args: did === undefined ? [] : [did] }, channel);
  }

  /** The channel leaves Stasis (hung up, or continued by the router). */
  end(channel: Channel): void {
    this.emit('StasisEnd', { type: 'StasisEnd' }, channel);
  }

  /** Resolves with the next `continue` request. */
  nextContinue(): Promise<ContinueRequest> {
    return new Promise((resolve) => this.once('continued', resolve));
  }
}

/** A promise with its resolve function outside, to hold a fake request until the test says. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
