// `sticky-router start`: runs the router in the foreground until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { configOrExit, exitWith } from './config-exit.js';
import { preflight } from './preflight.js';
import { ConfigError } from '../config.js';
import { loadNotifyConfig } from '../abandon/notify-config.js';
import { loadRecordingsConfig } from '../recordings/config.js';
import { loadMonitorConfig } from '../monitoring/config.js';
import { createLogger } from '../log.js';
import { startApp } from '../app.js';
import { AriAuthError } from '../ari/connection.js';
import { AmiAuthError } from '../ami/connection.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the router in the foreground (stops cleanly on SIGTERM/SIGINT)')
    .action(async () => {
      const config = configOrExit();
      let notify;
      let recordings;
      let monitor;
      try {
        notify = loadNotifyConfig(process.env);
        recordings = loadRecordingsConfig(process.env);
        monitor = loadMonitorConfig(process.env);
      } catch (err) {
        if (err instanceof ConfigError || /^config: /.test((err as Error).message)) exitWith((err as Error).message, 78);
        throw err;
      }
      const policies = preflight(config);
      const log = createLogger({ level: config.LOG_LEVEL, redactNumbers: config.LOG_REDACT_NUMBERS, format: config.LOG_FORMAT });
      let app: Awaited<ReturnType<typeof startApp>>;
      try {
        app = await startApp(config, notify, log, policies, recordings, monitor);
      } catch (err) {
        if (err instanceof ConfigError) {
          log.fatal({ err: err.message }, 'configuration rejected');
          exitWith(err.message, 78);
        }
        const auth = err instanceof AriAuthError || err instanceof AmiAuthError;
        log.fatal({ err: (err as Error).message }, auth ? 'credentials rejected' : 'start-up failed');
        process.stderr.write(`sticky-router: ${(err as Error).message}\n`);
        process.exit(auth ? 2 : 1);
      }
      log.info({ app: config.ARI_APP }, 'sticky-router started');
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping');
        const force = setTimeout(() => process.exit(1), 10_000);
        force.unref();
        await app.stop();
        log.info('stopped');
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    });
}
