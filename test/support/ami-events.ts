// Watches the harness's AMI with the product's own AMI wrapper, for assertions.
import { pino } from 'pino';
import { AmiConnection, type AmiEvent } from '../../src/ami/connection.js';
import { harnessEnv } from './harness.js';

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
  const events: TimedEvent[] = [];
  const received = new WeakMap<AmiEvent, number>();
  const waiters = new Set<() => void>();
  ami.on('event', (e) => {
    received.set(e, Date.now());
    events.push(e);
    for (const w of [...waiters]) w();
  });
  await ami.start();
  return {
    events,
    ami,
    at: (e) => received.get(e) ?? NaN,
    waitFor(pred, timeoutMs = 20_000, what = 'AMI event') {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = events.find(pred);
          if (e) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(e);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    stop: () => ami.stop(),
  };
}
