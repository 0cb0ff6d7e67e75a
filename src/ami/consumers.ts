// Every consumer of the router's AMI session, each with the events (and channel
// variables) it declares next to its code. src/app.ts builds the session filter from
// this list (src/ami/filter.ts), and test/unit/ami-filter.test.ts checks that each
// consumer's code reads only what it declares and that all of it passes the filter.
// A new consumer goes here and into app.ts's event wiring.
import type { AmiConsumer } from './filter.js';
import { ringTrackerEvents } from '../routing/ring-tracker.js';
import { cdrIngestEvents } from '../cdr/ingest.js';
import { abandonPipelineEvents } from '../abandon/pipeline.js';
import { queueStateConsumer } from '../queue/members.js';
import { agentStatePublisherEvents } from '../pbx/index.js';

/** Queue abandons are counted straight from AMI (router-phase ones from the sink). */
export const queueAbandonMetricEvents: AmiConsumer = { name: 'abandon metrics', events: ['QueueCallerAbandon'] };

/** With several PBXs: queue changes after which this PBX republishes its agents' states. */
export const agentStatePublisherConsumer: AmiConsumer = { name: 'agent-state publisher', events: agentStatePublisherEvents };

export const routerAmiConsumers: readonly AmiConsumer[] = [ringTrackerEvents, cdrIngestEvents, abandonPipelineEvents, queueStateConsumer, agentStatePublisherConsumer, queueAbandonMetricEvents];
