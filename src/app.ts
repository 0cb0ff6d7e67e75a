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
import { cdrFromAmiEvent, forgedCdr } from './cdr/from-ami.js';
import { QueueTalkTimes } from './cdr/queue-talk-times.js';
import { PbxClockMonitor } from './cdr/pbx-clock.js';
import { resyncQueues } from './queue/resync.js';
import { QueueState, queueStateEvents } from './queue/members.js';
import { QueueAttribution, queueAttributionEvents } from './queue/attribution.js';
import { checkRouteQueues } from './queue/check-queues.js';
import { abandonFromWait } from './abandon/from-wait.js';
import { DidPolicies } from './routing/did-policy.js';
import { RingTracker } from './routing/ring-tracker.js';
import { RecentDecisions } from './routing/recent-decisions.js';
import { createLookup } from './routing/sources/index.js';
import type { Call } from './routing/call.js';
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
import type { CdrDocument } from './cdr/schema.js';
import { Pbx, agentStatePublisherEvents } from './pbx/index.js';

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
  const journal = new Journal(config.DATA_DIR);
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
      // Only what the ring tracker, the CDR pipeline, the abandon pipeline and the queue state read.
      eventFilters: [
        `Event: (${[...new Set(['Cdr', 'DialBegin', 'DialEnd', 'Hangup', 'QueueCallerAbandon', 'QueueCallerJoin', 'AgentComplete', 'BridgeLeave', ...queueStateEvents, ...queueAttributionEvents, ...agentStatePublisherEvents])].join('|')})`,
        'Variable: _*STICKY_',
      ],
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
  let outboxRef: Outbox | undefined;
  const durability = new DurabilityMetrics(metrics.registry, {
    buffered: () => ({ journal: journalWrites.buffer.size, outbox: outboxRef?.writes.size ?? 0 }),
    refused: () => ({ journal: journalWrites.buffer.refusedTotal, outbox: outboxRef?.writes.refusedTotal ?? 0 }),
    rejected: () => journal.rejected(),
    failedNotifications: () => Object.fromEntries(Object.entries(outboxRef?.counts() ?? {}).map(([c, n]) => [c, n.failed])),
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
  outboxRef = outbox;
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
    queueLog: { answered: config.QUEUE_LOG_ANSWERED },
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

  const logDecision = (call: Call) => {
    if (call.logged) return;
    // Dial can end (answered, say) before the `continue` response is processed;
    // the record waits for it so that it carries decideMs.
    if (!call.decided) {
      call.logPending = true;
      return;
    }
    call.logged = true;
    if (call.reason) metrics.decision(call.reason);
    if (call.ringOutcome) metrics.ring(call.ringOutcome, (call.ringMs ?? 0) / 1000);
    log.info({ ...call.record(), ...(pbx.name ? { pbx: pbx.name } : {}) }, 'decision');
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
      memory.remember(call.caller.e164, agent, DateTime.fromMillis(at, { zone: 'utc' }), Math.round(talkMs / 1000), 'talk', call.decision && 'pbx' in call.decision ? call.decision.pbx : pbx.name);
    },
  });

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
    beforeHandOff: (call, decision) => {
      if (decision.action === 'ring') ringTracker.track(call, decision.ringTimeoutMs);
    },
    handOffFailed: (call) => ringTracker.forget(call),
    recordCall: (did) => recordings.shouldRecord(policies.for(did)),
    onDecided: (call, decision) => {
      call.decided = true;
      recent.remember(call);
      const waitAbandon = abandonFromWait(call);
      if (waitAbandon) abandons.publish(waitAbandon);
      if (call.lookupMs !== undefined && call.caller.e164) metrics.lookup(call.lookupSource ?? (call.lookupError ? 'failed' : 'miss'), call.lookupMs / 1000);
      // StasisEnd for our own continue can beat its HTTP response: handedOffAt, not
      // leftStasis, says whether the dialplan now rings the agent.
      if (decision.action === 'ring' && call.handedOffAt !== undefined && !call.logPending) {
        // The ring tracker writes the decision line when the ring ends.
        log.debug({ channel: call.channelId, caller: call.caller, agent: decision.agent }, 'handed off');
      } else logDecision(call);
    },
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

  const agentChannelPattern = new RegExp(config.AGENT_CHANNEL_PATTERN);
  const queueTalk = new QueueTalkTimes();
  const attribution = new QueueAttribution();
  const pbxClock = new PbxClockMonitor(log.child({ component: 'cdr' }), config.PBX_TIMEZONE);
  const cdrOptions: Parameters<typeof cdrFromAmiEvent>[1] = {
    agentChannelPattern,
    region: config.DEFAULT_COUNTRY,
    minTalkSeconds: (did) => policies.for(did).minTalkSeconds,
    annotate: (uniqueid, linkedid) => recent.annotate(uniqueid, linkedid),
    connectedSeconds: (uniqueid, dstchannel) => queueTalk.take(uniqueid, dstchannel),
    queueMember: (uniqueid, dstchannel) => attribution.take(uniqueid, dstchannel),
    timeZone: config.PBX_TIMEZONE,
    get pbx() {
      return pbx.name;
    },
  };
  const ingestCdr = (e: AmiEvent) => {
    const forged = forgedCdr(e);
    if (forged) {
      // Not learned from: a caller could otherwise make their call teach another number.
      log.warn({ reason: forged, uniqueid: e.UniqueID }, 'cdr event rejected');
      return;
    }
    const doc = cdrFromAmiEvent(e, { ...cdrOptions, receivedAt: DateTime.utc(), onTimes: (t) => pbxClock.observe(t) });
    if (!doc) return;
    recordings.attach(doc, e);
    learnCdr(doc);
  };
  /** The live path and the backfill alike: disk first (or the write buffer), then memory. */
  const learnCdr = (doc: CdrDocument): 'new' | 'known' | 'refused' => {
    // Once append returns 'new', a crash cannot lose this CDR; 'buffered' waits in memory for the disk.
    const r = journalWrites.append(doc);
    if (r === 'known') return 'known';
    if (r === 'refused') return 'refused';
    memory.rememberCdr(doc);
    if (r === 'new') shipper?.notify();
    monitoring?.onCdr(doc);
    followUps.onCdr(doc);
    log.debug({ cdr: doc.id, agent: doc.agent, talked: doc.talked, direction: doc.direction, held: r === 'buffered' }, 'cdr journaled');
    return 'new';
  };
  ami.on('event', (e) => {
    ringTracker.onAmiEvent(e);
    queueTalk.onAmiEvent(e);
    queueState.onAmiEvent(e);
    attribution.onAmiEvent(e);
    pbx.onAmiEvent(e);
    if (e.Event === 'Cdr') ingestCdr(e);
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
    toDoc: (fields) => {
      const doc = cdrFromAmiEvent(fields, cdrOptions);
      if (doc) recordings.attach(doc, fields);
      return doc;
    },
    ingest: learnCdr,
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
