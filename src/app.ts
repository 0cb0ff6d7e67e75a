// The composition root: builds the adapters around the routing core, wires them and
// owns their lifetimes; nothing here decides anything. Call path: ARI StasisStart →
// lookup (memory → Elasticsearch → journal) → decideRoute → one ARI continue → the
// dialplan rings the agent → AMI reports how it went, all told to the call's
// lifecycle (src/routing/lifecycle.ts). Learning path: AMI Cdr → src/cdr/ingest.ts →
// journal (on disk first) → memory → shipper → ES. docs/architecture.md has the map.
import { DateTime } from 'luxon';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { AmiConnection } from './ami/connection.js';
import { amiSessionFilters } from './ami/filter.js';
import { routerAmiConsumers } from './ami/consumers.js';
import { AriConnection } from './ari/connection.js';
import { AgentStates } from './ari/agent-state.js';
import { StasisApp } from './ari/stasis-app.js';
import { AbandonSink } from './abandon/sink.js';
import { Journal } from './cdr/journal.js';
import { Shipper } from './cdr/shipper.js';
import { createEsClient } from './cdr/es-client.js';
import { CdrIngest } from './cdr/ingest.js';
import { PbxClockMonitor } from './cdr/pbx-clock.js';
import { resyncQueues } from './queue/resync.js';
import { QueueState } from './queue/members.js';
import { checkRouteQueues } from './queue/check-queues.js';
import { DidPolicies } from './routing/did-policy.js';
import { RingTracker } from './routing/ring-tracker.js';
import { CallLifecycle } from './routing/lifecycle.js';
import { callHooks } from './routing/call-hooks.js';
import { RecentDecisions } from './routing/recent-decisions.js';
import { createLookup } from './routing/sources/index.js';
import { explainRoute } from './routing/explain.js';
import { installTemplates } from './cdr/index-template.js';
import { AbandonPipeline } from './abandon/pipeline.js';
import { Outbox } from './abandon/outbox.js';
import { createNotifiers } from './abandon/notifiers/index.js';
import { FollowUps } from './abandon/follow-up.js';
import { readRecalls } from './abandon/recalls.js';
import type { NotifyConfig } from './abandon/notify-config.js';
import { Metrics } from './metrics.js';
import { startHttpServer, type HttpServer, type ReadinessProbes } from './http/server.js';
import { runProbes } from './http/routes/ready.js';
import { createRecordings } from './recordings/index.js';
import { loadRecordingsConfig, type RecordingsConfig } from './recordings/config.js';
import type { MonitorConfig } from './monitoring/config.js';
import { Monitoring } from './monitoring/monitor.js';
import { failedNotificationsDetail, pruneJournalOnly, storageReadiness } from './durability/app-helpers.js';
import { JournalWriter } from './durability/journal-writer.js';
import { DurabilityMetrics } from './durability/metrics.js';
import { createBackfill } from './cdr/backfill/index.js';
import { Pbx } from './pbx/index.js';

export interface App {
  ari: AriConnection;
  ami: AmiConnection;
  journal: Journal;
  shipper: Shipper | undefined;
  abandons: AbandonSink;
  http: HttpServer;
  stop(): Promise<void>;
}

export async function startApp(
  config: Config,
  notify: NotifyConfig,
  log: Logger,
  policies: DidPolicies = DidPolicies.load(config),
  recordingsConfig: RecordingsConfig = loadRecordingsConfig(),
  monitor?: MonitorConfig,
): Promise<App> {
  const clock = () => DateTime.utc();
  // WAL checkpoints off the event loop: an fsync inside a commit would hold calls for up to hundreds of ms.
  const journal = new Journal(config.DATA_DIR, {
    checkpointInWorker: true,
    onCheckpointerFailed: (err) => log.warn({ err: err.message }, 'journal checkpoint thread failed; SQLite checkpoints on the event loop again'),
  });
  const es = createEsClient(config);
  // Voice quality and outside-API monitoring to the customer's platform (MONITOR_FILE).
  const monitoring = monitor ? new Monitoring({ config: monitor, notify, dataDir: config.DATA_DIR, log: log.child({ component: 'monitoring' }) }) : undefined;
  if (es && monitoring) monitoring.observeElasticsearch(es, config.ES_NODE!);
  const { memory, lookup } = createLookup({
    journal,
    elasticsearch: es ? { client: es, prefix: config.ES_INDEX_PREFIX, timeoutMs: config.LOOKUP_TIMEOUT } : undefined,
    memory: { maxAgeMs: Math.max(config.STICKY_WINDOW * 2, 2 * 3600_000) },
    onError: (source, err) => log.warn({ source, err: (err as Error).message }, 'lookup layer failed'),
  });
  const recordings = createRecordings({
    config: recordingsConfig,
    httpToken: config.HTTP_TOKEN,
    journal,
    es: es ? { client: es, prefix: config.ES_INDEX_PREFIX } : undefined,
    region: config.DEFAULT_COUNTRY,
    clock,
    log: log.child({ component: 'recordings' }),
  });
  const shipper = es
    ? new Shipper({ journal, client: es, prefix: config.ES_INDEX_PREFIX, log: log.child({ component: 'shipper' }), ensureTemplates: () => installTemplates(es, config.ES_INDEX_PREFIX) })
    : undefined;

  const ami = new AmiConnection(
    {
      host: config.AMI_HOST,
      port: config.AMI_PORT,
      username: config.AMI_USERNAME,
      password: config.AMI_PASSWORD,
      // Only what the consumers declare they read (src/ami/consumers.ts).
      eventFilters: amiSessionFilters(routerAmiConsumers),
    },
    log.child({ component: 'ami' }),
  );
  const ari = new AriConnection(
    { url: config.ARI_URL, username: config.ARI_USERNAME, password: config.ARI_PASSWORD, app: config.ARI_APP },
    log.child({ component: 'ari' }),
  );
  const agentStates = new AgentStates();
  const queueState = new QueueState();
  // Retry loops that must end with the router (queue resync after an AMI reconnect).
  const stopping = new AbortController();
  const refreshQueues = async () => {
    const r = await queueState.refresh(ami);
    log.info({ queues: r.queues, members: r.members, queueWrapups: r.wrapups }, 'queue state loaded');
  };
  const abandons = new AbandonSink();
  const recent = new RecentDecisions();
  // Journal-only mode ships nothing, so there is no backlog to alert on.
  const metrics = new Metrics({ journalBacklog: () => (shipper ? journal.backlog() : 0), shippingErrors: () => shipper?.stats.errors ?? 0, lookupTimeoutSeconds: config.LOOKUP_TIMEOUT / 1000 });
  // Other PBXs' agents (PBX_ROUTES, the shared agent-state index) and this PBX's name.
  const pbx = new Pbx({ config, es, agentStates, queueState, log: log.child({ component: 'pbx' }), registry: metrics.registry });
  // Disk full, read-only or locked DATA_DIR: records wait in memory, in order (README: Nothing lost).
  // Set once the outbox exists (it needs `durability`); scrapes before that read zero.
  const outboxRef: { current?: Outbox } = {};
  const durability = new DurabilityMetrics(metrics.registry, {
    buffered: () => ({ journal: journalWrites.buffer.size, outbox: outboxRef.current?.writes.size ?? 0 }),
    refused: () => ({ journal: journalWrites.buffer.refusedTotal, outbox: outboxRef.current?.writes.refusedTotal ?? 0 }),
    rejected: () => journal.rejected(),
    failedNotifications: () => Object.fromEntries(Object.entries(outboxRef.current?.counts() ?? {}).map(([c, n]) => [c, n.failed])),
  });
  const journalWrites = new JournalWriter(journal, {
    max: config.LOCAL_BUFFER_MAX,
    log: log.child({ component: 'journal' }),
    onWritten: (_doc, added) => {
      if (added) shipper?.notify();
    },
    onStateChange: (state) => {
      if (state === 'buffering') durability.writeFailure('journal');
    },
  });

  // Abandons: router-phase ones from the sink, queue ones from AMI; each is logged,
  // journaled (→ `${prefix}-abandons-*`), queue_logged and notified from a durable outbox.
  // Follow-ups close an alert once the caller is reached (a later conversation's CDR).
  const notifiers = createNotifiers(notify).map((n) => monitoring?.observeNotifier(n) ?? n);
  const outbox = new Outbox({
    dataDir: config.DATA_DIR,
    notifiers,
    dedupeWindowMs: notify.NOTIFY_DEDUPE_WINDOW,
    log: log.child({ component: 'outbox' }),
    bufferMax: config.LOCAL_BUFFER_MAX,
    onWriteStateChange: (state) => {
      if (state === 'buffering') durability.writeFailure('outbox');
    },
    onDelivered: (id, channel, ref) => followUps.delivered(id, channel, ref),
  });
  outboxRef.current = outbox;
  const followUps = new FollowUps({
    dataDir: config.DATA_DIR,
    notifiers,
    log: log.child({ component: 'follow-up' }),
    persist: (record) => {
      if (journal.replace(record.toDocument(), 'abandon')) shipper?.notify();
    },
  });
  const abandonPipeline = new AbandonPipeline({
    sink: abandons,
    ami,
    outbox,
    region: config.DEFAULT_COUNTRY,
    log: log.child({ component: 'abandon' }),
    shortAbandonMs: (did) => policies.for(did).shortAbandonMs,
    queueLog: config.QUEUE_LOG_STICKY && { answered: config.QUEUE_LOG_ANSWERED },
    persist: (record) => {
      const r = journalWrites.append(record.toDocument(), 'abandon');
      if (r === 'new') shipper?.notify();
      if (r === 'refused') throw new Error('local write buffer full');
    },
  });
  abandons.subscribe((e) => metrics.abandon(e.source));
  ami.on('event', (e) => {
    if (e.Event === 'QueueCallerAbandon') metrics.abandon('queue');
  });

  const ringTracker = new RingTracker();
  const hooks = callHooks({ log, metrics, recent, publishAbandon: (e) => abandons.publish(e), memory, policies, pbxName: () => pbx.name });

  const stasis = new StasisApp({
    lookup,
    agentState: (agent) => agentStates.get(agent),
    queueMember: (queue, agent) => queueState.lookup(queue, agent),
    policies,
    region: config.DEFAULT_COUNTRY,
    lookupTimeoutMs: config.LOOKUP_TIMEOUT,
    clock,
    recentAbandon: (e164, since) => abandonPipeline.recentAbandonFor(e164, since),
    remote: pbx.remote,
    log: log.child({ component: 'stasis' }),
    enter: (call) => new CallLifecycle(call, hooks),
    beforeHandOff: (life, decision) => {
      if (decision.action === 'ring') ringTracker.track(life, decision.ringTimeoutMs);
    },
    handOffFailed: (life) => ringTracker.forget(life),
    recordCall: (did) => recordings.shouldRecord(policies.for(did)),
  });
  let ariSessions = 0;
  ari.on('ready', (client) => {
    if (ariSessions++ > 0) metrics.reconnect('ari');
    stasis.attach(client, config.ARI_APP);
    void agentStates.attach(client, config.ARI_APP, log.child({ component: 'agents' }));
  });
  let amiSessions = 0;
  ami.on('connected', () => {
    // Queue state is re-read on every session: events missed while AMI was down.
    if (amiSessions++ > 0) {
      metrics.reconnect('ami');
      const session = amiSessions;
      void resyncQueues(refreshQueues, { log, current: () => session === amiSessions && ami.connected, signal: stopping.signal });
    }
  });
  ami.on('disconnected', () => queueState.unsync());
  metrics.sampleFrom({ callsInProgress: () => stasis.inStasis.size + ringTracker.size });

  const pbxClock = new PbxClockMonitor(log.child({ component: 'cdr' }), config.PBX_TIMEZONE);
  const cdrs = new CdrIngest({
    store: journalWrites,
    learn: (doc, held) => {
      memory.rememberCdr(doc);
      if (!held) shipper?.notify();
      monitoring?.onCdr(doc);
      followUps.onCdr(doc);
    },
    attachRecording: (doc, e) => recordings.attach(doc, e),
    observeTimes: (t) => pbxClock.observe(t),
    log,
    mapping: {
      agentChannelPattern: new RegExp(config.AGENT_CHANNEL_PATTERN),
      region: config.DEFAULT_COUNTRY,
      minTalkSeconds: (did) => policies.for(did).minTalkSeconds,
      annotate: (uniqueid, linkedid) => recent.annotate(uniqueid, linkedid),
      timeZone: config.PBX_TIMEZONE,
      // Read per CDR: the name may come from AMI (SystemName) after start.
      get pbx() {
        return pbx.name;
      },
    },
  });
  ami.on('event', (e) => {
    ringTracker.onAmiEvent(e);
    queueState.onAmiEvent(e);
    pbx.onAmiEvent(e);
    cdrs.onAmiEvent(e);
  });

  const explainDeps = {
    lookup,
    agentState: (agent: string) => agentStates.get(agent),
    queueMember: (queue: string, agent: string) => queueState.lookup(queue, agent),
    recentAbandon: (e164: string, since: DateTime) => abandonPipeline.recentAbandonFor(e164, since),
    policies,
    region: config.DEFAULT_COUNTRY,
    lookupTimeoutMs: config.LOOKUP_TIMEOUT,
    clock,
    remote: pbx.remote,
  };
  let listenerUrl = '';
  const readiness: ReadinessProbes = {
    ari: () => ari.ready,
    ami: () => ami.connected,
    ...(es ? { elasticsearch: async () => (await es.ping({}, { requestTimeout: 1000, maxRetries: 0 })) === true } : {}),
    storage: () => storageReadiness(journalWrites.buffer, outbox.writes),
    notifications: () => failedNotificationsDetail(outbox.counts()),
  };
  const http = await startHttpServer({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    token: config.HTTP_TOKEN,
    metrics,
    region: config.DEFAULT_COUNTRY,
    log: log.child({ component: 'http' }),
    lookup: (n, did) => explainRoute(n, explainDeps, did),
    recalls: (withinMs) =>
      readRecalls(config.DATA_DIR, {
        now: Date.now(),
        withinMs,
        lastAgent: (e164, at) => journal.lastAgentFor(e164, DateTime.fromMillis(at - config.STICKY_WINDOW, { zone: 'utc' }))?.agent,
      }),
    ready: readiness,
    extraRoutes: recordings.routes(() => listenerUrl),
  });
  listenerUrl = http.url;
  metrics.sampleFrom({ ready: async () => Object.fromEntries(Object.entries(await runProbes(readiness, 2000)).map(([k, c]) => [k, c.ok])) });

  if (es) {
    // A shipper that creates today's index before the template exists gets numbers
    // mapped as text, and term lookups silently never match: install it first.
    await installTemplates(es, config.ES_INDEX_PREFIX).then(
      (r) => log.info({ templates: r.map((t) => `${t.name}: ${t.action}`) }, 'index templates'),
      (err: Error) => log.warn({ err: err.message }, 'could not install index templates; run `sticky-router setup` (lookups may miss until then)'),
    );
  }
  // Journal-only mode: the journal is the store; keep JOURNAL_RETENTION of it.
  const janitor = es ? undefined : setInterval(() => void pruneJournalOnly(journal, config.JOURNAL_RETENTION, log), 600_000);
  janitor?.unref();

  // AMI first: ring outcomes and CDRs for calls the router hands off arrive there.
  await ami.start();
  await pbx.start(ami);
  // Before any call: the DIDs' queues must exist, and their members be known.
  if (policies.queues().length > 0) await checkRouteQueues(policies, queueState, refreshQueues);
  else await refreshQueues().catch((err: Error) => log.warn({ err: err.message }, 'queue state not loaded'));
  // Then what AMI did not deliver while this router was away (killed, restarted, cut off).
  const backfill = createBackfill(config, {
    ami,
    meta: journal,
    toDoc: (fields) => cdrs.toDoc(fields),
    ingest: (doc) => cdrs.keep(doc),
    knownAbandon: (id) => abandonPipeline.knows(id) || journalWrites.has(id),
    handleAbandon: (e) => abandonPipeline.handle(e),
    localWritesFailing: () => journalWrites.failing || outbox.writes.state !== 'ok',
    region: config.DEFAULT_COUNTRY,
    ownQueue: 'sticky-router',
    metrics: durability,
    log: log.child({ component: 'backfill' }),
  });
  abandonPipeline.start();
  await backfill?.start();
  await ari.start();
  shipper?.start();
  outbox.start();
  recordings.start();
  monitoring?.start();
  followUps.start();
  return {
    ari,
    ami,
    journal,
    shipper,
    abandons,
    http,
    async stop() {
      stopping.abort();
      clearInterval(janitor);
      recordings.stop();
      agentStates.detach();
      await ari.stop();
      await pbx.stop();
      await backfill?.stop();
      abandonPipeline.stop();
      await ami.stop();
      await followUps.stop();
      await outbox.stop();
      await monitoring?.stop();
      await shipper?.stop();
      await http.close();
      await es?.close();
      journalWrites.buffer.flush();
      journalWrites.buffer.close();
      journal.close();
    },
  };
}
