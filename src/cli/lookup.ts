// `sticky-router lookup <number> [--json]`: what the router would decide now for
// that caller, without a call. Reads the same layers as the router (the journal
// read-only beside a running router, Elasticsearch when ES_NODE is set) and, when
// ARI credentials are set, the agent's current state.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { Journal } from '../cdr/journal.js';
import { createEsClient } from '../cdr/es-client.js';
import { fetchAgentState } from '../ari/endpoint-state.js';
import { DidPolicies } from '../routing/did-policy.js';
import { explainRoute, type RouteExplanation } from '../routing/explain.js';
import { createLookup } from '../routing/sources/index.js';
import { OutboxStore } from '../abandon/outbox-store.js';
import { configOrExit } from './config-exit.js';
import { queueSnapshot } from './queue-snapshot.js';
import { pino } from 'pino';
import { RemotePbxAgents } from '../pbx/remote-agents.js';
import { parsePbxRoutes } from '../pbx/routes.js';

const needed = [
  'ES_NODE', 'ES_API_KEY', 'ES_USERNAME', 'ES_PASSWORD', 'ES_INDEX_PREFIX', 'DATA_DIR', 'DEFAULT_COUNTRY', 'STICKY_WINDOW', 'AGENT_RING_TIMEOUT',
  'LOOKUP_TIMEOUT', 'FALLBACK_CONTEXT', 'FALLBACK_EXTENSION', 'ROUTES_FILE', 'ARI_URL', 'MIN_TALK_SECONDS',
  'AMI_HOST', 'AMI_PORT', 'PBX_NAME', 'PBX_ROUTES',
] as const;

export function registerLookup(program: Command): void {
  program
    .command('lookup <number>')
    .description('print what the router would decide now for a caller: agent, when they last talked, source, reason')
    .option('--did <did>', 'decide as for a call to this DID (per-DID settings)')
    .option('--json', 'print JSON (the same as GET /v1/lookup/<number>)')
    .action(async (number: string, opts: { did?: string; json?: boolean }) => {
      const config = configOrExit(process.env, needed);
      const journalPath = join(config.DATA_DIR, 'journal.sqlite');
      const journal = existsSync(journalPath) ? new Journal(config.DATA_DIR, { readonly: true }) : undefined;
      const es = createEsClient(config);
      // A cold connection is not what a call sees: open it before the clock starts.
      await es?.ping({}, { requestTimeout: 2000, maxRetries: 0 }).catch(() => undefined);
      const { lookup } = createLookup({ journal, elasticsearch: es ? { client: es, prefix: config.ES_INDEX_PREFIX, timeoutMs: config.LOOKUP_TIMEOUT } : undefined });
      const ariCreds = process.env.ARI_USERNAME && process.env.ARI_PASSWORD ? { user: process.env.ARI_USERNAME, pass: process.env.ARI_PASSWORD } : undefined;
      const policies = DidPolicies.load(config);
      // The same steps as a call: the caller's recent abandon (the router's outbox) and,
      // for a DID with a queue, the agents' membership and pause state (AMI).
      const outbox = existsSync(join(config.DATA_DIR, 'outbox.sqlite')) ? new OutboxStore(config.DATA_DIR) : undefined;
      const queue = policies.for(opts.did).queue
        ? await queueSnapshot({ host: config.AMI_HOST, port: config.AMI_PORT, username: process.env.AMI_USERNAME, password: process.env.AMI_PASSWORD })
        : undefined;
      try {
        const answer = await explainRoute(
          number,
          {
            lookup,
            agentState: (agent) => (ariCreds ? fetchAgentState(config.ARI_URL, ariCreds.user, ariCreds.pass, agent) : 'unknown'),
            queueMember: (q, agent) => queue?.state?.lookup(q, agent),
            recentAbandon: (e164, since) => outbox?.recentAbandonFor(e164, since.toMillis()),
            policies,
            region: config.DEFAULT_COUNTRY,
            lookupTimeoutMs: config.LOOKUP_TIMEOUT,
            clock: () => DateTime.utc(),
            // Another PBX's agent, as the router decides for them (the name: PBX_NAME; the CLI does not read SystemName).
            remote: new RemotePbxAgents({ pbx: () => config.PBX_NAME, routes: parsePbxRoutes(config.PBX_ROUTES), client: es, prefix: config.ES_INDEX_PREFIX, timeoutMs: config.LOOKUP_TIMEOUT, log: pino({ level: 'silent' }) }),
          },
          opts.did,
        );
        const out = queue?.error ? { ...answer, queueState: queue.error } : answer;
        process.stdout.write(opts.json ? `${JSON.stringify(out)}\n` : human(out));
      } finally {
        outbox?.close();
        journal?.close();
        await es?.close();
      }
    });
}

function human(a: RouteExplanation & { queueState?: string }): string {
  const rows: [string, string][] = [
    ['caller', a.caller.e164 ? `${a.caller.e164} (as given: ${a.caller.raw})` : `${JSON.stringify(a.caller.raw)} (not a phone number)`],
    ['decision', a.action === 'ring' ? `ring agent ${a.agent} (${a.reason})` : `${a.action} to ${a.fallback.context},${a.fallback.extension} (${a.reason})`],
  ];
  if (a.lastTalkedAt) {
    const ago = DateTime.fromISO(a.lastTalkedAt).toRelative() ?? '';
    rows.push(['last talked', `${a.lastTalkedAt} (${ago}) with ${a.agent}, ${a.talkSeconds ?? '?'} s, found in ${a.source}`]);
  }
  if (a.agentState) rows.push(['agent state', a.agentState]);
  if (a.agentPbx) rows.push(['agent pbx', a.agentPbx]);
  if (a.rank !== undefined) rows.push(['rank', `${a.rank} of ${a.candidates?.length ?? 1} (learned from ${a.learnedFrom === 'attempt' ? 'an unanswered outbound attempt' : 'a conversation'})${a.dial ? `, rung at ${a.dial}` : ''}`]);
  if (a.candidates && a.candidates.length > 1) rows.push(['agents', a.candidates.map((c) => `${c.agent} (${c.state})`).join(', ')]);
  if (a.previousAbandon) rows.push(['abandoned', `${a.previousAbandon.count} time(s), last ${a.previousAbandon.at}${a.previousAbandon.agent ? ` waiting for ${a.previousAbandon.agent}` : ''}`]);
  if (a.queueState) rows.push(['queue state', a.queueState]);
  if (a.error) rows.push(['lookup error', a.error]);
  rows.push(['lookup', `${a.lookupMs} ms`]);
  return rows.map(([k, v]) => `${k.padEnd(12)} ${v}`).join('\n') + '\n';
}
