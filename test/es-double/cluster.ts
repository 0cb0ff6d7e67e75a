// The one way tests get a cluster: the real one named by ES_TEST_NODE, or a
// fresh in-process double. Tests needing fault injection check `double` and
// skip that part (with a message) against a real cluster.

import { Client } from '@elastic/elasticsearch';
import { startEsDouble, type EsDouble } from './server.js';

export interface TestCluster {
  /** URL to pass as the client's `node`. */
  node: string;
  /** Present only when running against the double. */
  double?: EsDouble;
  close(): Promise<void>;
  /** Deletes indices named `${prefix}*` and index templates named `${prefix}*`. */
  clean(prefix: string): Promise<void>;
}

export async function testCluster(): Promise<TestCluster> {
  const external = process.env.ES_TEST_NODE;
  const double = external ? undefined : await startEsDouble();
  const node = external ?? double?.url ?? '';
  const admin = new Client({ node });
  return {
    node,
    ...(double ? { double } : {}),
    clean: (prefix) => clean(admin, prefix),
    async close() {
      await admin.close();
      await double?.close();
    },
  };
}

/**
 * Same code path for both backends. Indices are resolved to concrete names
 * first because ES 8 refuses wildcard deletes by default.
 */
async function clean(client: Client, prefix: string): Promise<void> {
  if (prefix.length === 0) throw new Error('clean() needs a non-empty prefix');
  const indices = await client.indices.get(
    { index: `${prefix}*`, expand_wildcards: 'all', allow_no_indices: true, ignore_unavailable: true },
    { ignore: [404] },
  );
  const names = Object.keys(indices ?? {});
  // Chunked to stay well under URL length limits.
  for (let i = 0; i < names.length; i += 100) {
    await client.indices.delete({ index: names.slice(i, i + 100), ignore_unavailable: true });
  }
  const templates = await client.indices.getIndexTemplate({ name: `${prefix}*` }, { ignore: [404] });
  for (const t of templates.index_templates ?? []) {
    await client.indices.deleteIndexTemplate({ name: t.name });
  }
}
