// The running router: builds the adapters around the routing core and owns their
// lifetimes. Call path: ARI StasisStart → lookup (memory → Elasticsearch → journal)
// → decideRoute → one ARI continue → the dialplan rings the agent → AMI reports how
// it went. Learning path: AMI Cdr → journal (on disk first) → memory → shipper → ES.
import { DateTime } from 'luxon';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { AmiConnection, type AmiEvent } from './ami/connection.js';
import { AriConnection } from './ari/connection.js';
import { AgentStates } from './ari/agent-state.js';
import { StasisApp } from './ari/stasis-app.js';
import { AbandonSink } from './abandon/sink.js';
import { Journal } from './cdr/journal.js';
import { Shipper } from './cdr/shipper.js';
import { createEsClient } from './cdr/es-client.js';
import { cdrFromAmiEvent } from './cdr/from-ami.js';
import { DidPolicies } from './routing/did-policy.js';
import { RingTracker } from './routing/ring-tracker.js';
import { RecentDecisions } from './routing/recent-decisions.js';
import { createLookup } from './routing/sources/index.js';
import type { Call } from './routing/call.js';

export interface App {
  ari: AriConnection;
  ami: AmiConnection;
  journal: Journal;
  shipper: Shipper | undefined;
  abandons: AbandonSink;
  stop(): Promise<void>;
}

export async function startApp(config: Config, log: Logger): Promise<App> {
  const policies = DidPolicies.load(config);
  const clock = () => DateTime.utc();
  const journal = new Journal(config.DATA_DIR);
  const es = createEsClient(config);
  const { memory, lookup } = createLookup({
    journal,
    elasticsearch: es ? { client: es, prefix: config.ES_INDEX_PREFIX, timeoutMs: config.LOOKUP_TIMEOUT } : undefined,
    memory: { maxAgeMs: Math.max(config.STICKY_WINDOW * 2, 2 * 3600_000) },
    onError: (source, err) => log.warn({ source, err: (err as Error).message }, 'lookup layer failed'),
  });
  const shipper = es ? new Shipper({ journal, client: es, prefix: config.ES_INDEX_PREFIX, log: log.child({ component: 'shipper' }) }) : undefined;

  const ami = new AmiConnection(
    { host: config.AMI_HOST, port: config.AMI_PORT, username: config.AMI_USERNAME, password: config.AMI_PASSWORD },
    log.child({ component: 'ami' }),
  );
  const ari = new AriConnection(
    { url: config.ARI_URL, username: config.ARI_USERNAME, password: config.ARI_PASSWORD, app: config.ARI_APP },
    log.child({ component: 'ari' }),
  );
  const agentStates = new AgentStates();
  const abandons = new AbandonSink();
  const recent = new RecentDecisions();
  abandons.subscribe((abandon) => log.info({ event: 'abandon', abandon }, 'abandon'));

  const logDecision = (call: Call) => {
    if (call.logged) return;
    call.logged = true;
    log.info(call.record(), 'decision');
  };

  const ringTracker = new RingTracker({
    onRingDone: logDecision,
    onCallerAbandoned: (call, at) =>
      abandons.publish({
        source: 'sticky_ring',
        at: DateTime.fromMillis(at, { zone: 'utc' }).toISO()!,
        caller: call.caller,
        did: call.did,
        agent: call.decision && 'agent' in call.decision ? call.decision.agent : undefined,
        waitedMs: at - call.startedAt,
        uniqueid: call.channelId,
        linkedid: call.linkedid,
      }),
    // The router's own bridge teaches memory at once; the CDR confirms it moments later.
    onTalkEnded: (call, talkMs, at) => {
      const agent = call.decision && 'agent' in call.decision ? call.decision.agent : undefined;
      if (!agent || !call.caller.e164 || talkMs < policies.for(call.did).minTalkSeconds * 1000) return;
      memory.remember(call.caller.e164, agent, DateTime.fromMillis(at, { zone: 'utc' }), Math.round(talkMs / 1000));
    },
  });

  const stasis = new StasisApp({
    lookup,
    agentState: (agent) => agentStates.get(agent),
    policies,
    region: config.DEFAULT_COUNTRY,
    lookupTimeoutMs: config.LOOKUP_TIMEOUT,
    clock,
    log: log.child({ component: 'stasis' }),
    onDecided: (call, decision) => {
      recent.remember(call);
      // StasisEnd for our own continue can beat its HTTP response: handedOffAt, not
      // leftStasis, says whether the dialplan now rings the agent.
      if (decision.action === 'ring' && call.handedOffAt !== undefined) {
        log.debug({ channel: call.channelId, caller: call.caller, agent: decision.agent }, 'handed off');
        ringTracker.track(call, decision.ringTimeoutMs);
      } else logDecision(call);
    },
  });
  ari.on('ready', (client) => {
    stasis.attach(client);
    void agentStates.attach(client, config.ARI_APP, log.child({ component: 'agents' }));
  });

  const ingestCdr = (e: AmiEvent) => {
    const doc = cdrFromAmiEvent(e, {
      region: config.DEFAULT_COUNTRY,
      minTalkSeconds: (did) => policies.for(did).minTalkSeconds,
      annotate: (uniqueid, linkedid) => recent.annotate(uniqueid, linkedid),
    });
    if (!doc) return;
    // Disk first: once append returns, a crash cannot lose this CDR.
    if (journal.append(doc)) {
      memory.rememberCdr(doc);
      shipper?.notify();
      log.debug({ cdr: doc.id, agent: doc.agent, talked: doc.talked, direction: doc.direction }, 'cdr journaled');
    }
  };
  ami.on('event', (e) => {
    ringTracker.onAmiEvent(e);
    if (e.Event === 'Cdr') ingestCdr(e);
  });

  // AMI first: ring outcomes and CDRs for calls the router hands off arrive there.
  await ami.start();
  await ari.start();
  shipper?.start();
  return {
    ari,
    ami,
    journal,
    shipper,
    abandons,
    async stop() {
      await ari.stop();
      await ami.stop();
      await shipper?.stop();
      await es?.close();
      journal.close();
    },
  };
}
