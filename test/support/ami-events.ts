// Watches the harness's AMI with the product's own AMI wrapper, for assertions.
import { pino } from 'pino';
import { AmiConnection, type AmiEvent } from '../../src/ami/connection.js';
import { harnessEnv } from './harness.js';
import { Feed } from './wait.js';

export type TimedEvent = AmiEvent;

export interface AmiWatch {
  events: TimedEvent[];
  waitFor(pred: (e: TimedEvent) => boolean, timeoutMs?: number, what?: string): Promise<TimedEvent>;
  ami: AmiConnection;
  /** When this process received the event (epoch ms). */
  at(e: AmiEvent): number;
  stop(): Promise<void>;
}

export async function watchAmi(): Promise<AmiWatch> {
  const ami = new AmiConnection(
    { host: harnessEnv.AMI_HOST, port: Number(harnessEnv.AMI_PORT), username: harnessEnv.AMI_USERNAME, password: harnessEnv.AMI_PASSWORD },
    pino({ level: 'silent' }),
  );
  const feed = new Feed<TimedEvent>({ label: 'AMI watch' });
  const received = new WeakMap<AmiEvent, number>();
  ami.on('event', (e) => {
    received.set(e, Date.now());
    feed.push(e);
  });
  await ami.start();
  return {
    events: feed.items,
    ami,
    at: (e) => received.get(e) ?? NaN,
    waitFor: (pred, timeoutMs = 20_000, what = 'AMI event') => feed.waitFor(pred, timeoutMs, what),
    stop: () => ami.stop(),
  };
}
