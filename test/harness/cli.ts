// npm run harness -- up [--fresh] [--zone Area/City] | down | status | logs | env | peer up|down
// `peer` starts or stops the second PBX (pbx-b in its own network namespace, test/harness/peer.ts).
// --zone runs the PBX in that zone (its /etc/localtime); without it, Etc/UTC.
import { existsSync, readFileSync } from 'node:fs';
import { harnessEnv } from './credentials.js';
import { ariAnswers, down, harnessSupported, runningPid, up } from './asterisk.js';
import { peerDown, peerUp } from './peer.js';
import { consoleLog, messagesLog, queueLogFile, rootDir } from './paths.js';

const log = (m: string) => process.stderr.write(`harness: ${m}\n`);

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case 'up': {
      const s = harnessSupported();
      if (!s.ok) {
        log(`cannot run here: ${s.why}`);
        return 2;
      }
      const z = process.argv.indexOf('--zone');
      const zone = z > 0 ? process.argv[z + 1] : undefined;
      if (z > 0 && !zone) {
        log('--zone needs an IANA zone, e.g. --zone America/New_York');
        return 64;
      }
      const r = await up(log, { fresh: process.argv.includes('--fresh'), ...(zone ? { zone } : {}) });
      if (!r.started) log(`already running (pid ${r.pid})`);
      return 0;
    }
    case 'down':
      if (!(await down(log))) log('not running (nothing started by the harness)');
      return 0;
    case 'status': {
      const pid = runningPid();
      const ari = pid ? await ariAnswers() : false;
      process.stdout.write(`asterisk: ${pid ? `running (pid ${pid})` : 'stopped'}\nari: ${ari ? 'answering' : 'not answering'}\nroot: ${rootDir}\n`);
      return pid && ari ? 0 : 1;
    }
    case 'logs':
      for (const f of [consoleLog, messagesLog, queueLogFile]) {
        if (!existsSync(f)) continue;
        const lines = readFileSync(f, 'utf8').split('\n');
        process.stdout.write(`==> ${f} <==\n${lines.slice(-200).join('\n')}\n`);
      }
      return 0;
    case 'peer':
      if (process.argv[3] === 'up') await peerUp(log);
      else if (process.argv[3] === 'down') await peerDown(log);
      else {
        process.stderr.write('usage: npm run harness -- peer up|down\n');
        return 64;
      }
      return 0;
    case 'env':
      for (const [k, v] of Object.entries(harnessEnv)) process.stdout.write(`export ${k}='${v}'\n`);
      return 0;
    default:
      process.stderr.write('usage: npm run harness -- up [--fresh] [--zone Area/City] | down | status | logs | env | peer up|down\n');
      return 64;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (err: Error) => {
    log(err.message);
    process.exit(1);
  },
);
