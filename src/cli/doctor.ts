// `sticky-router doctor`: checks the PBX side and this router's settings before the
// first call, line by line (OK / FIX); exit 0 only when all is well. The checks are
// loaded only when the command runs, so `start` does not pay for them.
import type { Command } from 'commander';
import { configOrExit } from './config-exit.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the PBX and this configuration (ARI, AMI user, dialplan, cdr_manager, qualify, queues, clocks, Elasticsearch templates); exit 0 only when all is well')
    .action(async () => {
      const config = configOrExit();
      const [{ createLogger }, { DoctorAmi }, { checks }, { runDoctor }] = await Promise.all([
        import('../log.js'),
        import('../doctor/ami-session.js'),
        import('../doctor/checks/index.js'),
        import('../doctor/run.js'),
      ]);
      const log = createLogger({ level: 'silent', redactNumbers: true, format: 'json' });
      let session: ReturnType<typeof DoctorAmi.connect> | undefined;
      const ami = () => (session ??= DoctorAmi.connect({ host: config.AMI_HOST, port: config.AMI_PORT, username: config.AMI_USERNAME, password: config.AMI_PASSWORD }, log));
      const report = await runDoctor(checks, { config, env: process.env, ami, now: () => Date.now() }, (l) => process.stdout.write(`${l}\n`));
      if (session) await session.then((s) => s.close(), () => undefined);
      process.exit(report.ok ? 0 : 1);
    });
}
