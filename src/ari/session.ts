// One ARI session as the router uses it: the events it reads come straight from the
// guarded socket (parsed once, as plain JSON), the call-path requests go through
// AriRest, and the rest (listings, subscriptions, the app's registration) through
// ari-client. ari-client would parse each frame a second time and turn it into model
// instances with every operation attached (lodash per property) before emitting it:
// about half of what an ARI frame cost the router.
import { EventEmitter } from 'node:events';
import type { Client } from 'ari-client';
import type { AgentStateClient } from './agent-state.js';
import { agentStateEvents } from './agent-state.js';
import type { AriFrame } from './guarded-socket.js';
import type { AriRest } from './rest.js';
import type { StasisClient } from './stasis-app.js';
import { stasisAppEvents } from './stasis-app.js';

/** What the app and the agent-state cache need of a session (test/support/fake-ari.ts implements it too). */
export type AriSessionClient = StasisClient & AgentStateClient;

/** The events delivered from the socket directly: every event the router reads. */
const directEvents: ReadonlySet<string> = new Set<string>([...stasisAppEvents, ...agentStateEvents]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the listener's shape is the event's (see AriSessionClient's overloads)
type Listener = (...args: any[]) => void;

export class AriSession implements AriSessionClient {
  private readonly events = new EventEmitter();
  readonly applications: AriSessionClient['applications'];
  readonly endpoints: AriSessionClient['endpoints'];
  readonly channels: AriSessionClient['channels'];

  constructor(client: Client, rest: AriRest) {
    this.applications = client.applications;
    this.endpoints = client.endpoints;
    this.channels = {
      get: (o) => client.channels.get(o),
      setChannelVar: (o) => rest.setChannelVar(o),
      continueInDialplan: (o) => rest.continueInDialplan(o),
      ring: (o) => rest.ring(o),
    };
  }

  on(event: string, listener: Listener): this {
    if (!directEvents.has(event)) throw new Error(`ARI event ${event} is not delivered to the router: add it to the direct events`);
    this.events.on(event, listener);
    return this;
  }

  /** From the guarded socket: true when the frame is one the router reads (ari-client then never sees it). */
  dispatch(frame: AriFrame, receivedAt: number): boolean {
    if (!directEvents.has(frame.type)) return false;
    // ari-client's listeners get (event, channel); the router reads only plain fields of
    // both. receivedAt (performance.now() as the frame arrived): the router's own time.
    this.events.emit(frame.type, frame, frame.channel, receivedAt);
    return true;
  }

  close(): void {
    this.events.removeAllListeners();
  }
}
