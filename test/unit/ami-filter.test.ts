// The AMI session filter is built from what the consumers declare (src/ami/filter.ts).
// Two checks: every event and variable a consumer declares passes the filter the
// router installs, and every event name a consumer's code compares against is
// declared (read from the source, so a new `case 'Foo':` without a declaration fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { amiSessionFilters, passesAmiFilters, type AmiConsumer } from '../../src/ami/filter.js';
import { ringTrackerEvents } from '../../src/routing/ring-tracker.js';
import { cdrIngestEvents } from '../../src/cdr/ingest.js';
import { abandonPipelineEvents } from '../../src/abandon/pipeline.js';
import { callVarEvents } from '../../src/abandon/call-vars.js';
import { stickyQueueLogEvents } from '../../src/abandon/sticky-queue-log.js';
import { queueStateConsumer } from '../../src/queue/members.js';
import { queueAbandonMetricEvents, routerAmiConsumers } from '../../src/ami/consumers.js';

const root = join(import.meta.dirname, '..', '..');
/** Each consumer, and the files whose code reads AMI events for it. */
const consumers: [AmiConsumer, string[]][] = [
  [ringTrackerEvents, ['src/routing/ring-tracker.ts']],
  [cdrIngestEvents, ['src/cdr/ingest.ts', 'src/cdr/queue-talk-times.ts', 'src/queue/attribution.ts']],
  [callVarEvents, ['src/abandon/call-vars.ts']],
  [stickyQueueLogEvents, ['src/abandon/sticky-queue-log.ts']],
  [abandonPipelineEvents, ['src/abandon/pipeline.ts', 'src/abandon/call-vars.ts', 'src/abandon/sticky-queue-log.ts']],
  [queueStateConsumer, ['src/queue/members.ts']],
  [queueAbandonMetricEvents, ['src/app.ts']],
];

/** Consumers wired in through another's declaration (the pipeline reads for its tracker and queue_log). */
const partOf = new Map([
  [callVarEvents, abandonPipelineEvents],
  [stickyQueueLogEvents, abandonPipelineEvents],
]);

test('the router installs a filter built from every consumer', () => {
  for (const [c] of consumers) assert.ok(routerAmiConsumers.includes(partOf.get(c) ?? c), `${c.name} is wired into the session filter`);
  for (const [c, whole] of partOf) {
    for (const e of c.events) assert.ok(whole.events.includes(e), `${whole.name} declares ${c.name}'s ${e}`);
    for (const v of c.variables ?? []) assert.ok(whole.variables?.includes(v), `${whole.name} declares ${c.name}'s variable ${v}`);
  }
});

test('every event a consumer declares passes the session filter; others do not', () => {
  const filters = amiSessionFilters(routerAmiConsumers);
  for (const c of routerAmiConsumers) {
    for (const event of c.events) {
      if (event === 'VarSet') continue;
      assert.ok(passesAmiFilters(filters, { Event: event, Privilege: 'call,all', Channel: 'PJSIP/trunk-00000001', Uniqueid: '1.1' }), `${c.name}: ${event} passes`);
    }
    for (const v of c.variables ?? []) {
      for (const name of [v, `_${v}`, `__${v}`]) assert.ok(passesAmiFilters(filters, { Event: 'VarSet', Channel: 'PJSIP/trunk-00000001', Variable: name, Value: 'x' }), `${c.name}: VarSet ${name} passes`);
    }
  }
  assert.equal(passesAmiFilters(filters, { Event: 'Newexten', Context: 'ivr' }), false, 'Newexten (a dozen a call) stays out');
  assert.equal(passesAmiFilters(filters, { Event: 'VarSet', Variable: 'RTPAUDIOQOS', Value: 'x' }), false, 'VarSet of other variables stays out');
  // What the router installed before the filter was built from declarations: nothing it read is lost.
  const before = ['Cdr', 'DialBegin', 'DialEnd', 'Hangup', 'QueueCallerAbandon', 'QueueCallerJoin', 'AgentComplete', 'BridgeLeave', 'AgentConnect', 'QueueParams', 'QueueMember', 'QueueStatusComplete', 'QueueMemberAdded', 'QueueMemberRemoved', 'QueueMemberPause', 'QueueMemberStatus'];
  for (const event of before) assert.ok(passesAmiFilters(filters, { Event: event, Uniqueid: '1.1' }), `${event} still passes`);
});

test('every event name a consumer\'s code reads is declared', () => {
  for (const [c, files] of consumers) {
    for (const f of files) {
      const src = readFileSync(join(root, f), 'utf8');
      const read = new Set([...src.matchAll(/Event [!=]== '(\w+)'|case '(\w+)':/g)].map((m) => m[1] ?? m[2]!));
      for (const e of read) assert.ok(c.events.includes(e), `${f} reads ${e}, which ${c.name} does not declare`);
      assert.ok(read.size > 0, `${f}: found the events it reads`);
    }
  }
});

test('a bad declaration is refused', () => {
  assert.throws(() => amiSessionFilters([{ name: 'x', events: ['Dial|Hangup'] }]), /x: "Dial\|Hangup" is not an AMI event name/);
});
