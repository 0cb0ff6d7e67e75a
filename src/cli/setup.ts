// `sticky-router setup`: installs the Elasticsearch index template for the CDR
// indices and says what it did. Idempotent: run it on every deploy.
import type { Command } from 'commander';
import { createEsClient, describeEsError, esTarget } from '../cdr/es-client.js';
import { installTemplates, TemplateRefusedError } from '../cdr/index-template.js';
import { esCommandConfig, fail } from './es-env.js';
import { importKibanaObjects, KibanaImportError, type KibanaAuth } from './setup-kibana.js';
import { fileURLToPath } from 'node:url';

// docker/kibana ships with the package (package.json "files"): found from src/cli or dist/src/cli.
const savedObjects = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../docker/kibana/saved-objects.ndjson' : '../../docker/kibana/saved-objects.ndjson', import.meta.url));

/** Kibana credentials come from the environment, never from argv (visible in ps). */
function kibanaAuth(env: NodeJS.ProcessEnv): KibanaAuth | undefined {
  if (env.KIBANA_API_KEY) return { apiKey: env.KIBANA_API_KEY };
  if (env.KIBANA_USERNAME && env.KIBANA_PASSWORD) return { username: env.KIBANA_USERNAME, password: env.KIBANA_PASSWORD };
  return undefined;
}

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('install the Elasticsearch index templates (idempotent); with --kibana, also import the Kibana data views, searches and dashboard')
    .option('--kibana <url>', 'Kibana base URL, e.g. http://127.0.0.1:5601 (credentials from KIBANA_API_KEY or KIBANA_USERNAME/KIBANA_PASSWORD)')
    .action(async (opts: { kibana?: string }) => {
      const config = esCommandConfig();
      const client = createEsClient(config);
      if (!client) {
        fail('setup', 'ES_NODE is not set: there is no Elasticsearch to set up (without it the router keeps CDRs in the local journal only)', 78);
      }
      try {
        for (const r of await installTemplates(client, config.ES_INDEX_PREFIX)) {
          process.stdout.write(`index template ${r.name} for ${r.patterns.join(', ')}: ${r.action}\n`);
        }
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
      if (opts.kibana) {
        try {
          const r = await importKibanaObjects(opts.kibana, kibanaAuth(process.env), savedObjects, {
            indexPrefix: config.ES_INDEX_PREFIX,
            // The recording links in the CDR view point where browsers reach the router.
            ...(process.env.PUBLIC_URL ? { recordingsUrl: process.env.PUBLIC_URL } : {}),
          });
          process.stdout.write(`kibana: imported ${r.successCount} saved objects (${r.imported.map((o) => o.title ?? o.id).join(', ')})\n`);
        } catch (err) {
          const status = err instanceof KibanaImportError ? err.status : undefined;
          fail('setup', `Kibana import failed: ${(err as Error).message}`, status === 401 || status === 403 ? 2 : 1);
        }
      }
    });
}
