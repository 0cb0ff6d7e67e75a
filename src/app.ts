// The running router: wires the adapters together and owns their lifetimes.
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { AmiConnection } from './ami/connection.js';
import { AriConnection } from './ari/connection.js';

export interface App {
  ari: AriConnection;
  ami: AmiConnection;
  stop(): Promise<void>;
}

export async function startApp(config: Config, log: Logger): Promise<App> {
  const ami = new AmiConnection(
    { host: config.AMI_HOST, port: config.AMI_PORT, username: config.AMI_USERNAME, password: config.AMI_PASSWORD },
    log.child({ component: 'ami' }),
  );
  const ari = new AriConnection(
    { url: config.ARI_URL, username: config.ARI_USERNAME, password: config.ARI_PASSWORD, app: config.ARI_APP },
    log.child({ component: 'ari' }),
  );
  // AMI first: ring outcomes and CDRs for calls the router hands off arrive there.
  await ami.start();
  await ari.start();
  return {
    ari,
    ami,
    async stop() {
      await ari.stop();
      await ami.stop();
    },
  };
}
