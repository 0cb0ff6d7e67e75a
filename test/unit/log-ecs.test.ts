import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { createLogger } from '../../src/log.js';
import { ecsDataset, ecsServiceName, toEcsFields } from '../../src/log-ecs.js';
import { Call } from '../../src/routing/call.js';

function ecsLogger(redactNumbers: boolean) {
  const lines: Record<string, unknown>[] = [];
  // The product's own logger in ECS mode, so the test covers its redaction paths.
  const log = createLogger({ level: 'debug', redactNumbers, format: 'ecs', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { log, lines };
}

/** Expands dotted keys the way Elasticsearch does; throws where a name is both a value and an object (ES refuses such a document). */
function expand(doc: Record<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const put = (path: string[], value: unknown) => {
    let node = root;
    for (const [i, part] of path.entries()) {
      const last = i === path.length - 1;
      const isObj = typeof value === 'object' && value !== null && !Array.isArray(value);
      if (last && !isObj) {
        if (part in node) throw new Error(`${path.join('.')} is given twice or is also an object`);
        node[part] = value;
        return;
      }
      const next = node[part];
      if (next !== undefined && (typeof next !== 'object' || next === null || Array.isArray(next))) throw new Error(`${path.slice(0, i + 1).join('.')} is a value and an object`);
      node = (node[part] ??= {}) as Record<string, unknown>;
      if (last) for (const [k, v] of Object.entries(value as Record<string, unknown>)) put([...path, ...k.split('.')], v);
    }
  };
  for (const [k, v] of Object.entries(doc)) put(k.split('.'), v);
  return root;
}

function decisionCall(): Call {
  const call = new Call('1700000000.42', '5551000', { raw: '+12025550100', e164: '+12025550100' }, Date.now() - 900, DateTime.utc());
  call.decision = { action: 'ring', reason: 'sticky_agent', agent: '1002', ringTimeoutMs: 20_000, fallback: { context: 'ivr', extension: 's' } };
  call.reason = 'agent_no_answer';
  call.lookupSource = 'memory';
  call.lookupMs = 0.12;
  call.lastTalkedAt = DateTime.utc().minus({ minutes: 3 });
  call.handedOffAt = Date.now();
  call.ringOutcome = 'no_answer';
  call.ringMs = 20_010;
  return call;
}

test('a line is ECS: @timestamp, log.level, ecs.version, message, service and dataset', () => {
  const { log, lines } = ecsLogger(false);
  log.info({ port: 8090 }, 'http listening');
  const line = lines[0]!;
  assert.match(String(line['@timestamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(line['log.level'], 'info');
  assert.match(String(line['ecs.version']), /^\d+\.\d+\.\d+$/);
  assert.equal(line.message, 'http listening');
  assert.equal(line['service.name'], ecsServiceName);
  assert.equal(line['service.version'], '0.1.0');
  assert.equal(line['event.dataset'], ecsDataset);
  assert.equal(typeof line['process.pid'], 'number');
  assert.equal(typeof line['host.hostname'], 'string');
  assert.equal(line.port, 8090);
  assert.equal(line.time, undefined);
  assert.equal(line.level, undefined);
  assert.equal(line.msg, undefined);
  expand(line);
});

test('secrets are always redacted in ECS lines', () => {
  const { log, lines } = ecsLogger(false);
  log.info({ config: { ARI_PASSWORD: 'ari-pw', AMI_PASSWORD: 'ami-pw', ES_API_KEY: 'k', HTTP_TOKEN: 'tok', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/x', ARI_USERNAME: 'sticky' } }, 'config');
  log.info({ es: { password: 'es-pw', apiKey: 'key' }, webhook: { secret: 's' }, req: { headers: { authorization: 'Bearer tok' } } }, 'nested');
  const text = JSON.stringify(lines);
  for (const secret of ['ari-pw', 'ami-pw', '"k"', 'tok', 'hooks.slack.com', 'es-pw', '"key"', '"s"', 'Bearer']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  assert.equal((lines[0]!.config as Record<string, unknown>).ARI_USERNAME, 'sticky');
  assert.equal((lines[0]!.config as Record<string, unknown>).ARI_PASSWORD, '[redacted]');
});

test('the decision record is valid ECS: event.action, sticky.agent, no name both a value and an object', () => {
  const { log, lines } = ecsLogger(false);
  log.info(decisionCall().record(), 'decision');
  const line = lines[0]!;
  assert.equal(line['event.action'], 'decision');
  assert.equal(line['sticky.agent'], '1002');
  assert.equal(line.event, undefined);
  assert.equal(line.agent, undefined);
  assert.equal(line.reason, 'agent_no_answer');
  assert.deepEqual(line.caller, { raw: '+12025550100', e164: '+12025550100' });
  const doc = expand(line);
  assert.deepEqual(doc.event, { dataset: ecsDataset, action: 'decision' });
});

test('phone numbers are redacted in ECS lines when LOG_REDACT_NUMBERS=true', () => {
  const { log, lines } = ecsLogger(true);
  log.info(decisionCall().record(), 'decision');
  log.info({ event: 'abandon', abandon: { caller: { raw: '0961234567', e164: '+380961234567' }, queue: 'support' } }, 'abandon');
  log.info({ number: '+12025550100' }, 'lookup');
  const text = JSON.stringify(lines);
  for (const n of ['2025550100', '0961234567', '380961234567']) assert.ok(!text.includes(n), `${n} leaked`);
  assert.equal(lines[1]!['event.action'], 'abandon');
  assert.equal((lines[1]!.abandon as { queue: string }).queue, 'support');
});

test('errors become ECS error.* fields; plain values under ECS names move aside', () => {
  const { log, lines } = ecsLogger(false);
  log.error({ err: new TypeError('bad frame') }, 'ari frame');
  log.warn({ source: 'elasticsearch', err: 'connect ECONNREFUSED' }, 'lookup layer failed');
  log.info({ host: '127.0.0.1', port: 5038, ms: 12 }, 'ami connected');
  const [a, b, c] = lines;
  assert.deepEqual({ type: (a!.error as Record<string, unknown>).type, message: (a!.error as Record<string, unknown>).message }, { type: 'TypeError', message: 'bad frame' });
  assert.match(String((a!.error as Record<string, unknown>).stack_trace), /TypeError: bad frame/);
  assert.equal(b!['error.message'], 'connect ECONNREFUSED');
  assert.equal(b!['sticky.source'], 'elasticsearch');
  assert.equal(c!['sticky.host'], '127.0.0.1');
  for (const line of lines) expand(line);
});

test('toEcsFields leaves objects under ECS names alone and ordinary names untouched', () => {
  assert.deepEqual(toEcsFields({ url: { path: '/ari' }, channel: 'c1', event: 'decision', user: 'sticky' }), { url: { path: '/ari' }, channel: 'c1', 'event.action': 'decision', 'sticky.user': 'sticky' });
});
