// A control for stage 1: the least any Stasis app can do in this call path. The
// benchmark points the dialplan's STICKY_APP global at it for the time. It uses
// the router's own ARI library (ari-client) and, on StasisStart, sends the channel
// with one ARI `continue` to [sticky-ring] for agent 1002: no lookup, no logging, no
// bookkeeping. Router set-up minus this app's set-up is what the router itself adds
// on top of Stasis plus one ARI request.
import ari, { type Channel, type Client } from 'ari-client';
import { harnessEnv } from '../../harness/credentials.js';

export interface MinimalApp {
  /** StasisStart handler → continue answered, ms (performance.now). */
  continueMs: number[];
  /** ARI WebSocket frames received, by event type. */
  wsEvents: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * subscribeEndpoints: also subscribe the app to endpoint:PJSIP, as the router does for
 * agent states; Asterisk then sends the app every event of every channel on a PJSIP
 * endpoint, which the app must read (and ignore).
 */
export async function startMinimalApp(opts: { appName: string; subscribeEndpoints?: boolean }): Promise<MinimalApp> {
  (globalThis as { log?: unknown }).log = () => undefined; // swagger-client's console chatter
  const client: Client = await ari.connect(harnessEnv.ARI_URL, harnessEnv.ARI_USERNAME, harnessEnv.ARI_PASSWORD);
  const continueMs: number[] = [];
  client.on('StasisStart', (_e: unknown, ch: Channel) => {
    const t0 = performance.now();
    client.channels
      .continueInDialplan({ channelId: ch.id, context: 'sticky-ring', extension: '1002~20~ivr~s', priority: 1 })
      .then(() => continueMs.push(performance.now() - t0), () => undefined);
  });
  await client.start(opts.appName);
  const wsEvents: Record<string, number> = {};
  const ws = (client as unknown as { _ws?: { on(e: 'message', l: (d: unknown) => void): void } })._ws;
  ws?.on('message', (d) => {
    const type = /"type":"(\w+)"/.exec(String(d))?.[1] ?? '?';
    wsEvents[type] = (wsEvents[type] ?? 0) + 1;
  });
  // A fresh app name: Asterisk keeps an application's subscriptions across WebSocket
  // sessions, and unsubscribing from a whole technology (endpoint:PJSIP) answers 200
  // but keeps it, so the router's own app name stays subscribed once the router ran.
  if (opts.subscribeEndpoints) await client.applications.subscribe({ applicationName: opts.appName, eventSource: 'endpoint:PJSIP' });
  return {
    continueMs,
    wsEvents,
    async stop() {
      client.stop();
      await new Promise((r) => setTimeout(r, 300));
    },
  };
}
