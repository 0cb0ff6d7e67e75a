// ari-client creates its WebSocket inside a closure and (1) throws from its message
// handler on a malformed frame or an event type it has no model for, killing the
// process, and (2) reconnects on its own for ten tries, then gives up for good.
// Intercepting the client's `_ws` property lets us wrap every socket it creates:
// frames are validated before the library sees them, and close/error go to our
// supervisor, which rebuilds the whole client instead of the library retrying.
import type WebSocket from 'ws';

export interface SocketGuard {
  knownEventTypes(): Set<string>;
  onRejectedFrame(reason: string, sample: string): void;
  onOpen(ws: WebSocket): void;
  onClosed(reason: string): void;
  onPong(): void;
  /**
   * A valid frame, parsed once: return true when it was handled here and ari-client
   * must not see it (the events the router reads itself, src/ari/session.ts).
   */
  direct?(frame: AriFrame, receivedAt: number): boolean;
}

/** A validated ARI event frame. */
export type AriFrame = Record<string, unknown> & { type: string };

type Listener = (...args: unknown[]) => void;

export function guardClientSocket(client: object, guard: SocketGuard): void {
  let current: WebSocket | undefined;
  Object.defineProperty(client, '_ws', {
    configurable: true,
    get: () => current,
    set: (ws: WebSocket) => {
      current = ws;
      const on = ws.on.bind(ws) as (event: string, l: Listener) => WebSocket;
      (ws as unknown as { on: (event: string, l: Listener) => WebSocket }).on = (event, listener) => {
        switch (event) {
          case 'message':
            return on('message', (data: unknown) => {
              const receivedAt = performance.now();
              const text = String(data);
              const checked = checkFrame(text, guard.knownEventTypes());
              if (typeof checked === 'string') return guard.onRejectedFrame(checked, text.slice(0, 200));
              try {
                if (guard.direct?.(checked, receivedAt)) return;
                listener(data);
              } catch (err) {
                guard.onRejectedFrame(`library failed on the frame: ${(err as Error).message}`, text.slice(0, 200));
              }
            });
          case 'open':
            return on('open', () => {
              guard.onOpen(ws);
              listener();
            });
          case 'close':
            return on('close', (code: unknown) => guard.onClosed(`websocket closed (${String(code)})`));
          case 'error':
            return on('error', (err: unknown) => guard.onClosed(`websocket error: ${(err as Error).message}`));
          case 'pong':
            return on('pong', () => guard.onPong());
          default:
            return on(event, listener);
        }
      };
    },
  });
}

/** Events that are about one channel: without a real one, there is no call to route. */
const channelEvents = new Set(['StasisStart', 'StasisEnd', 'ChannelDestroyed', 'ChannelStateChange', 'ChannelHangupRequest', 'ChannelVarset', 'ChannelDtmfReceived', 'ChannelEnteredBridge', 'ChannelLeftBridge']);

const isRef = (v: unknown): boolean => typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string' && (v as { id: string }).id.length > 0;

/** Why a frame must not reach ari-client (and the router), or undefined when it may. */
export function frameProblem(text: string, known: Set<string>): string | undefined {
  const checked = checkFrame(text, known);
  return typeof checked === 'string' ? checked : undefined;
}

/** The parsed frame, or why it must not reach ari-client (and the router). */
function checkFrame(text: string, known: Set<string>): AriFrame | string {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return 'not an object';
  const type = (frame as { type?: unknown }).type;
  if (typeof type !== 'string') return 'no event type';
  if (!known.has(type)) return `unknown event type ${JSON.stringify(type.slice(0, 60))}`;
  // ari-client builds a Channel from whatever `channel` holds: a string or an id-less object
  // would become a call with no caller that the router then decides (and logs) for.
  const f = frame as Record<string, unknown>;
  if ((channelEvents.has(type) || 'channel' in f) && !isRef(f.channel)) return `${type} without a channel object`;
  if ('bridge' in f && !isRef(f.bridge)) return `${type} with a bridge that is not an object with an id`;
  return f as AriFrame;
}
