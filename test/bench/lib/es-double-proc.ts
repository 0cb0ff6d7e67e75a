// Starts test/bench/lib/es-double-main.ts as a child process.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface EsDoubleProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export function startEsDoubleProcess(): Promise<EsDoubleProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'es-double-main.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('ES double did not start')), 20_000);
    proc.on('exit', (code) => reject(new Error(`ES double exited (${code})`)));
    proc.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /^(http\S+)\n/.exec(buf);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1]!,
        pid: proc.pid!,
        stop: () =>
          new Promise((res) => {
            if (proc.exitCode !== null) return res();
            proc.once('exit', () => res());
            proc.kill('SIGTERM');
          }),
      });
    });
  });
}
