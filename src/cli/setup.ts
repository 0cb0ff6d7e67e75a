// `sticky-router setup`: installs the Elasticsearch index template for the CDR
// indices and says what it did. Idempotent: run it on every deploy.
import type { Command } from 'commander';
import { createEsClient, describeEsError, esTarget } from '../cdr/es-client.js';
import { installTemplate, TemplateRefusedError } from '../cdr/index-template.js';
import { esCommandConfig, fail } from './es-env.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('install the Elasticsearch index template for the CDR indices (idempotent)')
    .action(async () => {
      const config = esCommandConfig();
      const client = createEsClient(config);
      if (!client) {
        fail('setup', 'ES_NODE is not set: there is no Elasticsearch to set up (without it the router keeps CDRs in the local journal only)', 78);
      }
      try {
        const r = await installTemplate(client, config.ES_INDEX_PREFIX);
        process.stdout.write(`index template ${r.name} for ${r.patterns.join(', ')}: ${r.action}\n`);
      } catch (err) {
        if (err instanceof TemplateRefusedError) {
          const status = (err.cause as { meta?: { statusCode?: number } } | undefined)?.meta?.statusCode;
          // 401/403: the credentials, like wrong ARI/AMI credentials at start (exit 2).
          fail('setup', `${err.message} (ES_NODE=${esTarget(config)})`, status === 401 || status === 403 ? 2 : 1);
        }
        fail('setup', `could not install the index template at ${esTarget(config)}: ${describeEsError(err)}`, 1);
      } finally {
        await client.close();
      }
    });
}
