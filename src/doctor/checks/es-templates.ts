// The Elasticsearch index templates are installed and are this version's (else
// numbers get mapped as text and lookups never match).
import { createEsClient, describeEsError, esTarget } from '../../cdr/es-client.js';
import { allTemplates, templateHash } from '../../cdr/index-template.js';
import { fix, ok, type Check, type Verdict } from '../check.js';

export const esTemplatesCheck: Check = {
  name: 'es-templates',
  async run({ config }) {
    const client = createEsClient(config, { requestTimeout: 5000, maxRetries: 0 });
    if (!client) return ok('ES_NODE unset: journal-only mode, no index templates needed');
    const out: Verdict[] = [];
    try {
      for (const spec of allTemplates(config.ES_INDEX_PREFIX)) {
        const res = await client.indices.getIndexTemplate({ name: spec.name }, { ignore: [404] });
        const found = res.index_templates?.find((t) => t.name === spec.name);
        const patterns = [spec.body.index_patterns ?? []].flat().join(', ');
        if (!found) out.push(fix(`index template ${spec.name} (${patterns}) is not installed at ${esTarget(config)}: run \`sticky-router setup\``));
        else if ((found.index_template._meta as { hash?: unknown } | undefined)?.hash !== templateHash(spec)) out.push(fix(`index template ${spec.name} differs from this version's: run \`sticky-router setup\` (new daily indices take it; today's keeps its mapping)`));
        else out.push(ok(`index template ${spec.name} (${patterns}) installed and current`));
      }
    } catch (err) {
      out.push(fix(`Elasticsearch at ${esTarget(config)}: ${describeEsError(err)}: check ES_NODE and its credentials`));
    } finally {
      await client.close();
    }
    return out;
  },
};
