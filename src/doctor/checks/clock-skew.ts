// The PBX's clock and the router's agree: CDR times, the sticky window and the daily
// indices compare the two. AMI Ping answers with the PBX's epoch time (microseconds);
// the best of three round trips bounds the error.
import { fix, ok, type Check } from '../check.js';

/** Beyond this the window and the CDR order drift visibly: run NTP on both. */
export const maxSkewMs = 1000;

export const clockSkewCheck: Check = {
  name: 'clock',
  async run({ ami, now }) {
    const session = await ami();
    let best: { rtt: number; skew: number } | undefined;
    for (let i = 0; i < 3; i++) {
      const t0 = now();
      const res = await session.action({ Action: 'Ping' });
      const t1 = now();
      const pbx = Number(res.Timestamp) * 1000;
      if (!Number.isFinite(pbx)) return fix('AMI Ping carried no Timestamp: cannot compare clocks (Asterisk older than 12?)');
      const sample = { rtt: t1 - t0, skew: pbx - (t0 + t1) / 2 };
      if (!best || sample.rtt < best.rtt) best = sample;
    }
    const { skew, rtt } = best!;
    const text = `${skew >= 0 ? 'PBX ahead of' : 'PBX behind'} this host by ${(Math.abs(skew) / 1000).toFixed(3)} s (±${(rtt / 2000).toFixed(3)} s)`;
    return Math.abs(skew) - rtt / 2 > maxSkewMs ? fix(`clocks differ: ${text}: run NTP (chrony or systemd-timesyncd) on both hosts`) : ok(`clocks agree: ${text}`);
  },
};
