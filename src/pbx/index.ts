// Several PBXs, one history: this router's PBX name, the routes to other PBXs
// and the shared agent-state index, built in one place so that the composition
// root only wires them. Without PBX_NAME or a SystemName the router is a
// single-PBX router: its records carry no `pbx`, every agent is local, nothing
// is published.
import type { Client } from '@elastic/elasticsearch';
import type { Registry } from 'prom-client';
import type { AmiConnection, AmiEvent } from '../ami/connection.js';
import type { AgentStates } from '../ari/agent-state.js';
import { ConfigError, type Config } from '../config.js';
import type { Logger } from '../log.js';
import { memberAgentId, type QueueState } from '../queue/members.js';
import { AgentStatePublisher, agentStatePublisherEvents, type LocalAgents } from './agent-state-publisher.js';
import type { QueueEntry } from './agent-state-doc.js';
import { PbxMetrics } from './metrics.js';
import { resolvePbxName } from './name.js';
import { RemotePbxAgents } from './remote-agents.js';
import { parsePbxRoutes } from './routes.js';

export { agentStatePublisherEvents };
export { agentStatesIndex } from './agent-state-doc.js';

export interface PbxDeps {
  config: Pick<Config, 'PBX_NAME' | 'PBX_ROUTES' | 'AGENT_STATE_TTL' | 'ES_INDEX_PREFIX' | 'LOOKUP_TIMEOUT' | 'AGENT_CHANNEL_PATTERN'>;
  es: Client | undefined;
  agentStates: AgentStates;
  queueState: QueueState;
  log: Logger;
  /** The router's metrics registry (sticky_agent_state_writes_total, sticky_remote_agent_reads_total). */
  registry?: Registry;
}

export class Pbx {
  /** PBX_NAME or SystemName, once start() has read it. */
  name: string | undefined;
  readonly remote: RemotePbxAgents;
  private publisher: AgentStatePublisher | undefined;
  private readonly routeCount: number;
  private readonly metrics: PbxMetrics | undefined;

  constructor(private readonly d: PbxDeps) {
    let routes;
    try {
      routes = parsePbxRoutes(d.config.PBX_ROUTES);
    } catch (err) {
      throw new ConfigError(`config: PBX_ROUTES is invalid: ${(err as Error).message}`);
    }
    this.name = d.config.PBX_NAME;
    const metrics = d.registry ? new PbxMetrics(d.registry) : undefined;
    this.metrics = metrics;
    this.remote = new RemotePbxAgents({ pbx: () => this.name, routes, client: d.es, prefix: d.config.ES_INDEX_PREFIX, timeoutMs: d.config.LOOKUP_TIMEOUT, log: d.log, onRead: (note) => metrics?.read(note) });
    this.routeCount = routes.size;
  }

  /** After AMI is up: learn the name, then publish this PBX's agents (with Elasticsearch). */
  async start(ami: Pick<AmiConnection, 'action'>): Promise<void> {
    const r = await resolvePbxName(this.d.config.PBX_NAME, ami).catch((err: Error) => {
      this.d.log.warn({ err: err.message }, 'could not read SystemName (AMI CoreSettings)');
      return { name: undefined, from: 'none' as const };
    });
    this.name = r.name;
    if (!this.name) {
      if (this.routeCount > 0) throw new ConfigError('config: PBX_ROUTES needs this PBX\'s name: set PBX_NAME, or systemname in asterisk.conf [options]');
      this.d.log.info('no PBX name (PBX_NAME, SystemName): single-PBX mode, records carry no pbx');
      return;
    }
    this.d.log.info({ pbx: this.name, from: r.from, routes: this.routeCount, sharedStates: this.d.es !== undefined }, 'pbx');
    if (!this.d.es) return;
    this.publisher = new AgentStatePublisher({ client: this.d.es, prefix: this.d.config.ES_INDEX_PREFIX, pbx: this.name, agents: this.localAgents(), ttlMs: this.d.config.AGENT_STATE_TTL, log: this.d.log, onWrite: (ok) => this.metrics?.written(ok) });
    this.d.agentStates.onChange(() => this.publisher?.changed());
    this.publisher.start();
  }

  onAmiEvent(e: AmiEvent): void {
    this.publisher?.onAmiEvent(e);
  }

  async stop(): Promise<void> {
    await this.publisher?.stop();
  }

  /** This PBX's agents: endpoints whose channels AGENT_CHANNEL_PATTERN names (not trunks), and queue members. */
  private localAgents(): LocalAgents {
    const pattern = new RegExp(this.d.config.AGENT_CHANNEL_PATTERN);
    const isAgent = (resource: string) => pattern.exec(`PJSIP/${resource}-00000001`)?.[1] === resource;
    const qs = this.d.queueState;
    return {
      phones: () => this.d.agentStates.entries().filter(([agent]) => isAgent(agent)),
      members: () => new Set(qs.queueNames.flatMap((q) => qs.members(q).map((m) => memberAgentId(m)).filter((a): a is string => a !== undefined))),
      queues: (agent) => {
        if (!qs.synced) return undefined;
        const out: QueueEntry[] = [];
        for (const queue of qs.queueNames) {
          const m = qs.lookup(queue, agent);
          if (!m || m.state === 'logged_out') continue;
          out.push({ queue, state: m.state, ...(m.member?.pausedReason ? { paused_reason: m.member.pausedReason } : {}) });
        }
        return out;
      },
    };
  }
}
