// 8. DATA_DIR on a full disk. The router's DATA_DIR is a small tmpfs; once the
// router runs, a filler file takes every free byte, and calls go on. The CDRs of
// those calls must not be lost: the router holds them in memory, says so (one
// log line, /readyz 503 naming the storage, a metric), keeps routing, and when
// the filler is removed writes every held CDR once, in the order it got them,
// and ships them to Elasticsearch.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../../src/storage/sqlite.js';
import { prepareIndices } from '../support/history.js';
import { journalBacklog, journalCdrs } from '../support/cdr.js';
import { waitChannelsGone } from '../support/harness.js';
import { CallLoad, esAccounting, fmtMs, lineTime, nanp, producedCdrs, sleep, spawnRouter, stopRouter, waitUntil, type Ctx, type Scenario } from './lib.js';

const FULL_MS = 15_000;
const OURS = nanp(8, 0).slice(0, 8); // +1202508…

/** Fills the file system holding `dir` until ENOSPC; returns the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x55);
  let n = 0;
  try {
    for (;;) n += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  // The last partial block too.
  try {
    for (;;) n += writeSync(fd, Buffer.alloc(512, 0x55));
  } catch {
    // ENOSPC: full.
  }
  closeSync(fd);
  return n;
}

export async function s8DiskFull(ctx: Ctx, sc: Scenario): Promise<void> {
  const prefix = `${ctx.runId}-s8`;
  await prepareIndices(ctx.cluster.node, prefix);
  const mnt = join(ctx.outDir, 's8-tmpfs');
  mkdirSync(mnt, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`cannot mount a tmpfs for DATA_DIR (needs root): ${m.stderr.trim()}`);
  const dataDir = join(mnt, 'data');
  const filler = join(mnt, 'filler');
  let router: Awaited<ReturnType<typeof spawnRouter>> | undefined;
  try {
    // 1 s: the journal's idle shipper poll picks up what the recovery writes without waiting long.
    router = await spawnRouter(ctx, 's8-disk-full', { ES_INDEX_PREFIX: prefix, DATA_DIR: dataDir, HTTP_TOKEN: '' });
    const port = Number((await router.waitForLog((l) => l.msg === 'http listening', 10_000)).port);
    await router.waitForLog((l) => l.msg === 'agent states loaded', 15_000);
    const ready = async () => {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      return { status: r.status, body: (await r.json()) as { checks?: Record<string, { ok: boolean; detail?: string }> } };
    };
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text.split('\n').filter((l) => l.startsWith(name));
    };
    sc.check('precondition: ready before the disk fills', (await ready()).status === 200);
    // The WAL must not have room to grow: truncate it (a checkpoint from a second connection), then fill.
    for (const f of ['journal.sqlite', 'outbox.sqlite']) {
      const db = new Database(join(dataDir, f));
      db.pragma('busy_timeout = 2000');
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    }
    const filled = fill(filler);
    const fullAt = Date.now();
    sc.figure('DATA_DIR', `tmpfs of 8 MiB, filled with ${(filled / 1024 / 1024).toFixed(1)} MiB (ENOSPC)`);
    const obsFrom = ctx.observer.events.length;
    const mark = router.lines.length;
    let i = 0;
    const load = new CallLoad(() => ({ did: '800', caller: nanp(8, i++), talkMs: 1200, timeoutS: 20 }), 700).start();
    let duringReady: Awaited<ReturnType<typeof ready>> | undefined;
    let duringMetric: string[] = [];
    try {
      await sleep(FULL_MS - 3000);
      duringReady = await ready();
      duringMetric = await metric('sticky_local_write_buffered');
      await sleep(3000);
    } finally {
      await load.stop();
    }
    await waitChannelsGone(20_000).catch(() => undefined);
    await sleep(1500);
    const producedDuring = producedCdrs(ctx.observer, (e) => String(e.Source ?? '').startsWith(OURS), obsFrom);
    rmSync(filler, { force: true });
    const freedAt = Date.now();
    const recovered = await router.waitForLog((l) => l.msg === 'DATA_DIR writable again; every held record written' && l.store === 'journal', 30_000, 'journal writable again').catch(() => undefined);
    const recoveredMs = recovered ? lineTime(recovered) - freedAt : NaN;
    const after = router.lines.slice(mark);
    const failLines = after.filter((l) => l.msg === 'cannot write to DATA_DIR; holding records in memory and retrying');
    const journalFail = failLines.filter((l) => l.store === 'journal');
    const decided = after.filter((l) => l.event === 'decision').length;
    sc.check('the full disk was noticed: one log line for the journal (not one per record)', journalFail.length === 1, `${journalFail.length} line(s): ${String(journalFail[0]?.err ?? '')}`);
    const storage = duringReady?.body.checks?.storage;
    sc.check('/readyz is 503 with the storage named while records wait in memory', duringReady?.status === 503 && storage?.ok === false, `${duringReady?.status}: ${storage?.detail ?? 'no storage check'}`);
    const bufferedSample = duringMetric.find((l) => l.includes('store="journal"'));
    sc.check('sticky_local_write_buffered{store="journal"} > 0 while full', Number(bufferedSample?.split(' ').pop()) > 0, bufferedSample ?? 'no sample');
    sc.check('calls kept being routed while the disk was full', decided >= load.placed.length - 1 && decided > 0, `${decided} decisions for ${load.placed.length} calls`);
    sc.check('the disk freed: held records written', Boolean(recovered), fmtMs(recoveredMs));
    const ready2 = await ready();
    sc.check('/readyz is 200 again', ready2.status === 200, String(ready2.status));

    // Everything once, in the order the CDRs arrived (the observer's order = Asterisk's).
    const ours = (d: { asterisk: { src: string } }) => d.asterisk.src.startsWith(OURS);
    const journaled = journalCdrs(dataDir, ours);
    const ids = new Set(journaled.map((d) => d.id));
    const lost = [...producedDuring.keys()].filter((id) => !ids.has(id));
    sc.check('precondition: CDRs were produced while the disk was full', producedDuring.size > 0, String(producedDuring.size));
    sc.check('every CDR produced while the disk was full is journaled: 0 lost', lost.length === 0, `${producedDuring.size - lost.length}/${producedDuring.size}`);
    sc.check('0 duplicated in the journal', ids.size === journaled.length, `${journaled.length} rows, ${ids.size} ids`);
    const db = new Database(join(dataDir, 'journal.sqlite'), { readonly: true });
    const order = (db.prepare('SELECT id FROM records ORDER BY rowid').all() as { id: string }[]).map((r) => r.id).filter((id) => producedDuring.has(id));
    db.close();
    const expected = [...producedDuring.keys()];
    // Asterisk emits a call's CDRs together; the router journals them in AMI order.
    sc.check('written in the order they arrived', JSON.stringify(order) === JSON.stringify(expected), order.length === expected.length ? 'same order as AMI delivered them' : `${order.length} vs ${expected.length}`);
    await waitUntil(() => journalBacklog(dataDir).backlog === 0, 30_000, 500);
    const acc = esAccounting(ctx, prefix, producedDuring, (d) => String((d.asterisk as { src?: string })?.src ?? '').startsWith(OURS));
    sc.check('…and shipped to Elasticsearch exactly once', acc.lost.length === 0 && acc.dupIds === 0 && acc.dupUniqueid === 0, `${acc.inEs} in ES, ${acc.lost.length} lost, dup ${acc.dupIds}/${acc.dupUniqueid}`);
    sc.check('router process still running', router.proc.exitCode === null);
    sc.figure('disk full for', fmtMs(freedAt - fullAt));
    sc.figure('calls placed / decided while full', `${load.placed.length} / ${decided}`);
    sc.figure('/readyz while full', `${duringReady?.status}: ${storage?.detail ?? ''}`);
    sc.figure('metric while full', bufferedSample ?? '');
    sc.figure('disk freed → every held record written', fmtMs(recoveredMs));
    sc.figure('CDRs produced while full / journaled / in Elasticsearch', `${producedDuring.size} / ${producedDuring.size - lost.length} / ${acc.inEs}`);
    sc.figure('lost / duplicated (_id) / duplicated (uniqueid)', `${lost.length + acc.lost.length} / ${acc.dupIds} / ${acc.dupUniqueid}`);
    sc.figure('state-change log lines (per store)', failLines.map((l) => String(l.store)).join(', '));
  } finally {
    await stopRouter(router);
    spawnSync('umount', ['-l', mnt]);
  }
  writeFileSync(join(ctx.outDir, 's8-done'), 'ok');
}
