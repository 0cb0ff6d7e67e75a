// For `sticky-router lookup`: the queue state a running router keeps from AMI, read
// once (QueueStatus) so that the command checks membership and pause as a call
// would. Without AMI credentials, or when AMI does not answer in time, the queue
// checks are left out, exactly as the router does while its AMI session is down.
import { pino } from 'pino';
import { AmiConnection } from '../ami/connection.js';
import { QueueState } from '../queue/members.js';
import { withTimeout } from '../timeout.js';

export async function queueSnapshot(o: { host: string; port: number; username?: string; password?: string; timeoutMs?: number }): Promise<{ state?: QueueState; error?: string }> {
  if (!o.username || !o.password) return { error: 'AMI_USERNAME/AMI_PASSWORD not set: queue membership and pause not checked' };
  const ami = new AmiConnection({ host: o.host, port: o.port, username: o.username, password: o.password }, pino({ level: 'silent' }));
  const state = new QueueState();
  ami.on('event', (e) => state.onAmiEvent(e));
  const ms = o.timeoutMs ?? 5000;
  try {
    await withTimeout(
      async () => {
        await ami.start();
        await state.refresh(ami);
      },
      ms,
      `AMI ${o.host}:${o.port} did not answer within ${ms} ms`,
    );
    return { state };
  } catch (err) {
    return { error: `queue state not read: ${(err as Error).message}` };
  } finally {
    await ami.stop();
  }
}
