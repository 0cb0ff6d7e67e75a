// Preloaded into the router by the cost bench (NODE_OPTIONS=--import, where Node 20
// refuses --cpu-prof): SIGUSR2 starts a V8 CPU profile, the next SIGUSR2 writes it to
// $BENCH_CPU_PROF_DIR/router-<pid>-<n>.cpuprofile, so a profile covers one stage.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROF_INTERVAL_US ?? 200) });
  let running = false;
  let n = 0;
  process.on('SIGUSR2', () => {
    if (!running) {
      session.post('Profiler.start');
      running = true;
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `router-${process.pid}-${++n}.cpuprofile`), JSON.stringify(res.profile));
    });
  });
}
