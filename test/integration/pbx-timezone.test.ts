// A PBX on local time (issue 11): the harness's Asterisk runs with its
// /etc/localtime in a zone west of UTC, east of UTC and at a half-hour offset. In
// each, a caller who talked to 1002 through the queue and calls back seconds later
// reaches 1002, and the CDR the router stored carries the real UTC instants
// although Asterisk wrote local wall-clock times. No PBX_TIMEZONE is set.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { watchAmi } from '../support/ami-events.js';
import { startRouter } from '../support/router.js';
import { call, startAgent } from '../support/sipp.js';
import { hangupAllChannels, phoneUp, waitChannelsGone, waitEndpointState } from '../support/harness.js';
import { agentStatesLoaded, decisionAfter, journalCdrs, poll } from '../support/cdr.js';
import { defaultZone, up } from '../harness/asterisk.js';

const log = (m: string) => console.error(`# ${m}`);

before(() => hangupAllChannels());
// Leave the PBX as the other test files expect it: UTC.
after(() => up(log, { zone: defaultZone }));

const allZones = [
  { zone: 'America/New_York', caller: '+12025550601', west: true },
  { zone: 'Asia/Tokyo', caller: '+12025550602', west: false },
  { zone: 'Asia/Kolkata', caller: '+12025550603', west: false },
];

const zones = process.env.TZ_ONLY ? allZones.filter((z) => z.zone === process.env.TZ_ONLY) : allZones;
for (const { zone, caller, west } of zones) {
  test(`PBX in ${zone}: the queue call teaches 1002, the call-back 2 s later rings 1002; stored times are UTC`, async () => {
    await up(log, { zone });
    const offset = DateTime.now().setZone(zone).offset;
    assert.ok(west ? offset < 0 : offset > 0, `${zone} is ${west ? 'west' : 'east'} of UTC (offset ${offset} min)`);
    const ami = await watchAmi();
    const router = await startRouter({ AGENT_RING_TIMEOUT: 'PT8S' });
    const phone = await phoneUp('1002', () => startAgent('1002', { ringMs: 300 }));
    try {
      await waitEndpointState('1001', 'offline');
      await agentStatesLoaded(router);

      let from = router.lines.length;
      const first = await call('100', caller, { talkMs: 3000 });
      assert.equal(first.exitCode, 0, `call 1 completed: ${first.errors.slice(0, 300)}`);
      assert.equal((await decisionAfter(router, caller, from)).reason, 'no_history');

      // Asterisk wrote local wall-clock time: the PBX really is in `zone`.
      const cdrEvent = await ami.waitFor((e) => e.Event === 'Cdr' && e.Source === caller && e.Disposition === 'ANSWERED', 15_000, 'Cdr of call 1');
      const endUtc = DateTime.fromMillis(first.endedAt, { zone: 'utc' });
      const wallNow = DateTime.fromFormat(cdrEvent.EndTime!, 'yyyy-MM-dd HH:mm:ss', { zone: 'utc' });
      const wallMinusUtc = Math.round(wallNow.diff(endUtc, 'minutes').minutes);
      assert.ok(Math.abs(wallMinusUtc - offset) <= 1, `EndTime ${cdrEvent.EndTime} is ${zone} wall time (wall − UTC = ${wallMinusUtc} min, zone offset ${offset})`);

      // The stored CDR: UTC instants within seconds of when the caller hung up.
      const [doc] = await poll(() => journalCdrs(router.dataDir, (d) => d.customer_e164 === caller && d.talked), (ds) => ds.length >= 1, 15_000, 'the CDR in the journal').catch((err: Error) => {
        const seen = journalCdrs(router.dataDir).map((d) => [d.customer_e164, d.agent, d.talked, d.talk_seconds, d['@timestamp']]);
        const cdrLog = router.lines.filter((l) => /cdr/.test(String(l.msg)));
        throw new Error(`${err.message}; journal: ${JSON.stringify(seen)}; log: ${JSON.stringify(cdrLog).slice(0, 800)}; event: ${JSON.stringify(cdrEvent)}`);
      });
      assert.equal(doc!.agent, '1002');
      const storedEnd = DateTime.fromISO(doc!['@timestamp'], { zone: 'utc' });
      assert.ok(Math.abs(storedEnd.toMillis() - first.endedAt) < 5000, `@timestamp ${doc!['@timestamp']} is the real end (${endUtc.toISO()})`);
      const storedStart = DateTime.fromISO(doc!.asterisk.start, { zone: 'utc' });
      assert.ok(Math.abs(storedStart.toMillis() - first.startedAt) < 5000, `asterisk.start ${doc!.asterisk.start} is the real start`);
      const pbxClock = await router.waitForLog((l) => (l.pbxClock as { source?: string } | undefined)?.source !== undefined, 5000, 'the pbx clock line').catch(() => ({ pbxClock: router.lines.filter((l) => /pbx|cdr/.test(JSON.stringify(l))).slice(0, 5) }));
      assert.deepEqual(pbxClock?.pbxClock, { source: 'epoch', utcOffset: formatOffset(offset) }, 'the router says how it reads the PBX clock');

      await waitChannelsGone();
      await new Promise((r) => setTimeout(r, 2000));
      from = router.lines.length;
      const second = await call('100', caller, { talkMs: 1000 });
      assert.equal(second.exitCode, 0, `call 2 completed: ${second.errors.slice(0, 300)}`);
      const d2 = await decisionAfter(router, caller, from);
      assert.equal(d2.reason, 'sticky_agent', `the call-back sticks on a PBX in ${zone}: ${JSON.stringify(d2)}`);
      assert.equal(d2.agent, '1002');
      const { invites } = await phone.stop();
      assert.equal(invites.length, 2, '1002 was rung for the queue call and for the call-back');
    } finally {
      await phone.stop();
      await router.stop();
      await ami.stop();
    }
  });
}

function formatOffset(minutes: number): string {
  const m = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
