// Seeds "who talked to whom" into the test cluster as CDR documents of the
// project's schema, so the router's Elasticsearch lookup has something to find.
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { randomUUID } from 'node:crypto';
import type { CdrDocument } from '../../src/cdr/schema.js';
import { installTemplates } from '../../src/cdr/index-template.js';
import { testCluster } from '../es-double/cluster.js';

export function historyDoc(customer: string, agent: string, endedAt: DateTime, talkSeconds = 120): CdrDocument {
  const end = endedAt.toUTC();
  const start = end.minus({ seconds: talkSeconds + 5 });
  const uid = `${Math.floor(start.toSeconds())}.${Math.floor(Math.random() * 1e6)}`;
  const fmt = (d: DateTime) => d.toISO()!; // as src/cdr/from-ami.ts writes them: UTC ISO
  return {
    id: randomUUID().replace(/-/g, ''),
    '@timestamp': end.toISO()!,
    direction: 'inbound',
    customer_e164: customer,
    customer_raw: customer,
    agent,
    talk_seconds: talkSeconds,
    talked: true,
    did: '100',
    asterisk: {
      src: customer, dst: 's', dcontext: 'ivr', clid: `"${customer}" <${customer}>`, channel: 'PJSIP/trunk-00000001', dstchannel: `PJSIP/${agent}-00000002`,
      lastapp: 'Queue', lastdata: 'support,t', start: fmt(start), answer: fmt(start.plus({ seconds: 5 })), end: fmt(end),
      duration: talkSeconds + 5, billsec: talkSeconds, disposition: 'ANSWERED', amaflags: 'DOCUMENTATION', accountcode: '', uniqueid: uid, linkedid: uid, userfield: '',
    },
  };
}

export async function seedHistory(node: string, prefix: string, docs: CdrDocument[]): Promise<void> {
  const client = new Client({ node });
  try {
    const ops = docs.flatMap((d) => [{ index: { _index: `${prefix}-${DateTime.fromISO(d['@timestamp']).toUTC().toFormat('yyyy.MM.dd')}`, _id: d.id } }, d]);
    const res = await client.bulk({ operations: ops, refresh: true });
    if (res.errors) throw new Error(`seeding history failed: ${JSON.stringify(res.items.find((i) => i.index?.error))}`);
  } finally {
    await client.close();
  }
}

/** The router's index templates under `prefix` on the cluster at `node`, and the given history in it. */
export async function prepareIndices(node: string, prefix: string, docs: CdrDocument[] = []): Promise<void> {
  const client = new Client({ node });
  try {
    await installTemplates(client, prefix);
  } finally {
    await client.close();
  }
  if (docs.length > 0) await seedHistory(node, prefix, docs);
}

/** A test cluster with the router's index templates under `prefix` and the given history in it. */
export async function seededCluster(prefix: string, docs: CdrDocument[]): Promise<Awaited<ReturnType<typeof testCluster>>> {
  const cluster = await testCluster();
  await prepareIndices(cluster.node, prefix, docs);
  return cluster;
}
