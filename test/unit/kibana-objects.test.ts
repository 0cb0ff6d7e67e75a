// docker/kibana/saved-objects.ndjson, checked without a Kibana: every line parses,
// ids are unique, every reference resolves inside the file, and every field a
// search, chart or data view uses exists where it points: in the CDR or abandon
// index template (src/cdr/index-template.ts), or in the router's decision log
// line (Call.record() through the ECS formatter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { abandonTemplate, cdrTemplate } from '../../src/cdr/index-template.js';
import { ecsLoggerOptions } from '../../src/log-ecs.js';
import { Call } from '../../src/routing/call.js';
import { buildSavedObjects, dataViewTitles, ids, toNdjson } from '../../src/kibana/saved-objects.js';

const file = join(import.meta.dirname, '..', '..', 'docker', 'kibana', 'saved-objects.ndjson');
const text = readFileSync(file, 'utf8');

interface Obj {
  type: string;
  id: string;
  attributes: Record<string, any>;
  references: { id: string; name: string; type: string }[];
}

const objects: Obj[] = text
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l, i) => {
    try {
      return JSON.parse(l) as Obj;
    } catch (err) {
      throw new Error(`line ${i + 1} is not JSON: ${(err as Error).message}`);
    }
  });
const byKey = new Map(objects.map((o) => [`${o.type}:${o.id}`, o]));

/** field name → mapping type, from a template's properties (object fields flattened with dots). */
function flatten(props: Record<string, any>, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(props)) {
    if (v.properties) for (const [kk, t] of flatten(v.properties, `${prefix}${k}.`)) out.set(kk, t);
    else out.set(`${prefix}${k}`, v.type ?? 'object');
  }
  return out;
}

/** The template whose index patterns include `pattern`, among everything index-template.ts exports. */
function templateFields(spec: { body: { template?: { mappings?: { properties?: Record<string, unknown> } } } }): Map<string, string> {
  return flatten(spec.body.template?.mappings?.properties ?? {});
}

/** The fields of the decision log line as it reaches Elasticsearch: Call.record() through the ECS formatter. */
function decisionFields(): Map<string, string> {
  const call = new Call('1700000000.42', '5551000', { raw: '+12025550100', e164: '+12025550100' }, Date.now() - 900, DateTime.utc());
  call.decision = { action: 'ring', reason: 'sticky_agent', agent: '1002', ringTimeoutMs: 20_000 } as unknown as Call['decision'];
  call.reason = 'agent_no_answer';
  call.lookupSource = 'memory';
  call.lookupMs = 0.12;
  call.lookupError = 'x';
  call.lastTalkedAt = DateTime.utc();
  call.handedOffAt = Date.now();
  call.ringOutcome = 'no_answer';
  call.ringMs = 20_010;
  call.previousAbandon = { at: DateTime.utc().toISO(), agent: '1002', count: 1 };
  let line: Record<string, unknown> = {};
  const log = pino(ecsLoggerOptions({ level: 'info', redact: { paths: [] } }), { write: (s: string) => void (line = JSON.parse(s)) });
  log.info(call.record(), 'decision');
  const out = new Map<string, string>();
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`);
      else out.set(`${prefix}${k}`, typeof v);
    }
  };
  walk(line, '');
  return out;
}

const cdrFields = templateFields(cdrTemplate('cdr'));
const abandonFields = templateFields(abandonTemplate('cdr'));
const fieldsByView: Record<string, Map<string, string> | undefined> = {
  [ids.cdrView]: cdrFields,
  [ids.abandonView]: abandonFields,
  [ids.decisionView]: decisionFields(),
};

/** Field names a KQL query filters on (quoted values removed first). */
function kqlFields(query: string): string[] {
  const bare = query.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...bare.matchAll(/(?:^|[\s(])([A-Za-z@_][\w.@]*)\s*:/g)].map((m) => m[1]!).filter((f) => !['and', 'or', 'not'].includes(f));
}

/** Every field an object uses, with the data view it is looked up in and the mapping types the use needs. */
function fieldUses(o: Obj): { view: string; field: string; where: string; types?: string[] }[] {
  const uses: { view: string; field: string; where: string; types?: string[] }[] = [];
  const ref = (name: string) => o.references.find((r) => r.name === name)?.id ?? `(no reference ${name})`;
  if (o.type === 'index-pattern') {
    uses.push({ view: o.id, field: o.attributes.timeFieldName, where: 'timeFieldName', types: ['date'] });
    for (const f of Object.keys(JSON.parse(o.attributes.fieldFormatMap))) uses.push({ view: o.id, field: f, where: 'fieldFormatMap' });
  }
  if (o.type === 'search') {
    const view = ref('kibanaSavedObjectMeta.searchSourceJSON.index');
    for (const c of o.attributes.columns) uses.push({ view, field: c, where: 'columns' });
    for (const [f] of o.attributes.sort) uses.push({ view, field: f, where: 'sort' });
    const source = JSON.parse(o.attributes.kibanaSavedObjectMeta.searchSourceJSON);
    for (const f of kqlFields(source.query.query)) uses.push({ view, field: f, where: 'query' });
  }
  if (o.type === 'lens') {
    const layers = o.attributes.state.datasourceStates.formBased.layers as Record<string, { columns: Record<string, any> }>;
    for (const [layerId, layer] of Object.entries(layers)) {
      const view = ref(`indexpattern-datasource-layer-${layerId}`);
      for (const f of kqlFields(o.attributes.state.query.query)) uses.push({ view, field: f, where: 'query' });
      for (const [colId, col] of Object.entries(layer.columns)) {
        const where = `column ${colId} (${col.operationType})`;
        if (col.sourceField && col.sourceField !== '___records___') {
          const types: Record<string, string[]> = {
            date_histogram: ['date'],
            range: ['integer', 'long', 'float', 'double'],
            sum: ['integer', 'long', 'float', 'double'],
            average: ['integer', 'long', 'float', 'double'],
            min: ['integer', 'long', 'float', 'double'],
            max: ['integer', 'long', 'float', 'double'],
            terms: ['keyword', 'boolean', 'integer', 'long'],
            unique_count: ['keyword', 'integer', 'long'],
          };
          uses.push({ view, field: col.sourceField, where, types: types[col.operationType] });
        }
        if (col.filter) for (const f of kqlFields(col.filter.query)) uses.push({ view, field: f, where: `${where} filter` });
        if (col.operationType === 'formula') {
          for (const m of (col.params.formula as string).matchAll(/\b[a-z_]+\(([A-Za-z@_][\w.@]*)/g)) uses.push({ view, field: m[1]!, where: `${where} formula` });
          for (const m of (col.params.formula as string).matchAll(/kql='([^']*)'/g)) for (const f of kqlFields(m[1]!)) uses.push({ view, field: f, where: `${where} formula kql` });
        }
      }
    }
  }
  return uses;
}

test('the file is what src/kibana/saved-objects.ts builds (regenerate: npx tsx src/kibana/saved-objects.ts > docker/kibana/saved-objects.ndjson)', () => {
  assert.equal(text, toNdjson(buildSavedObjects()));
});

test('every line parses into a saved object with a type, an id, attributes and references', () => {
  assert.ok(objects.length >= 10);
  for (const o of objects) {
    assert.ok(['index-pattern', 'search', 'lens', 'dashboard'].includes(o.type), `${o.type} ${o.id}`);
    assert.match(o.id, /^[a-z0-9-]+$/);
    assert.equal(typeof o.attributes.title, 'string', `${o.id} has a title`);
    assert.ok(Array.isArray(o.references));
    // Without a migration version Kibana runs every migration since 7.x on a modern shape and fails.
    assert.match((o as unknown as { typeMigrationVersion: string }).typeMigrationVersion, /^\d+\.\d+\.\d+$/, `${o.id} declares its migration version`);
  }
});

test('ids are unique', () => {
  const seen = new Set<string>();
  for (const o of objects) {
    assert.ok(!seen.has(o.id), `duplicate id ${o.id}`);
    seen.add(o.id);
  }
});

test('every reference resolves to an object in the file, and every reference name is used', () => {
  for (const o of objects) {
    for (const r of o.references) assert.ok(byKey.has(`${r.type}:${r.id}`), `${o.type} ${o.id} → ${r.type} ${r.id} (${r.name}) is not in the file`);
    const names = o.references.map((r) => r.name);
    assert.equal(new Set(names).size, names.length, `${o.id}: reference names are unique`);
  }
  const dash = byKey.get(`dashboard:${ids.dashboard}`)!;
  const panels = JSON.parse(dash.attributes.panelsJSON) as { panelIndex: string; panelRefName: string; type: string; gridData: { i: string } }[];
  assert.ok(panels.length >= 5);
  for (const p of panels) {
    const r = dash.references.find((x) => x.name === `${p.panelIndex}:${p.panelRefName}`);
    assert.ok(r, `panel ${p.panelIndex} has its reference`);
    assert.equal(r.type, p.type);
    assert.equal(p.gridData.i, p.panelIndex);
  }
  for (const o of objects.filter((x) => x.type === 'search')) assert.equal(JSON.parse(o.attributes.kibanaSavedObjectMeta.searchSourceJSON).indexRefName, 'kibanaSavedObjectMeta.searchSourceJSON.index', o.id);
});

test('the issue asks for: CDR, abandon and decision data views; three searches; the dashboard charts', () => {
  const titles = dataViewTitles();
  assert.equal(byKey.get(`index-pattern:${ids.cdrView}`)!.attributes.title, titles.cdr);
  assert.equal(byKey.get(`index-pattern:${ids.abandonView}`)!.attributes.title, titles.abandons);
  assert.equal(byKey.get(`index-pattern:${ids.decisionView}`)!.attributes.title, 'logs-sticky_router-*');
  assert.match(JSON.parse(byKey.get(`search:${ids.callsOfNumber}`)!.attributes.kibanaSavedObjectMeta.searchSourceJSON).query.query, /^customer_e164 : "\+\d+"$/);
  assert.match(JSON.parse(byKey.get(`search:${ids.decisions}`)!.attributes.kibanaSavedObjectMeta.searchSourceJSON).query.query, /event\.action : "decision"/);
  assert.ok(byKey.has(`search:${ids.abandons}`));
  assert.equal(JSON.parse(byKey.get(`search:${ids.callsWithRecording}`)!.attributes.kibanaSavedObjectMeta.searchSourceJSON).query.query, 'recording.file : * and not recording.deleted_at : *');
  const onDashboard = new Set(byKey.get(`dashboard:${ids.dashboard}`)!.references.map((r) => r.id));
  for (const id of [ids.hitRate, ids.reasonsOverTime, ids.abandonsByQueue, ids.abandonsByWait]) assert.ok(onDashboard.has(id), id);
});

/** Matches an index name against a Kibana/ES index expression: comma-separated, `*` wildcards, `-` exclusions. */
function matches(expression: string, index: string): boolean {
  let hit = false;
  for (const part of expression.split(',')) {
    const exclude = part.startsWith('-');
    const re = new RegExp(`^${(exclude ? part.slice(1) : part).split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (re.test(index)) hit = !exclude;
  }
  return hit;
}

test('the CDR data view does not overlap the abandons one (cdr-* alone would match cdr-abandons-*)', () => {
  const t = dataViewTitles();
  assert.ok(matches(t.cdr, 'cdr-2025.06.01'));
  assert.ok(!matches(t.cdr, 'cdr-abandons-2025.06.01'));
  assert.ok(matches(t.abandons, 'cdr-abandons-2025.06.01'));
  assert.ok(!matches(t.abandons, 'cdr-2025.06.01'));
  const other = dataViewTitles({ indexPrefix: 'pbx1' });
  assert.ok(matches(other.cdr, 'pbx1-2030.12.31') && !matches(other.cdr, 'pbx1-abandons-2030.12.31') && matches(other.abandons, 'pbx1-abandons-2030.12.31'));
});

test('lens charts are internally consistent: column order, accessors and formula parts exist', () => {
  for (const o of objects.filter((x) => x.type === 'lens')) {
    const layers = o.attributes.state.datasourceStates.formBased.layers as Record<string, { columns: Record<string, any>; columnOrder: string[] }>;
    for (const [layerId, layer] of Object.entries(layers)) {
      assert.deepEqual([...layer.columnOrder].sort(), Object.keys(layer.columns).sort(), `${o.id}: columnOrder`);
      for (const col of Object.values(layer.columns)) for (const r of col.references ?? []) assert.ok(layer.columns[r], `${o.id}: ${r}`);
      const vis = o.attributes.state.visualization;
      // xy: layers[].accessors; datatable: columns[].columnId; metric: metricAccessor.
      const accessors = vis.layers ? vis.layers.flatMap((l: any) => [l.xAccessor, l.splitAccessor, ...l.accessors].filter(Boolean)) : vis.columns ? vis.columns.map((c: any) => c.columnId) : [vis.metricAccessor];
      for (const a of accessors) assert.ok(layer.columns[a], `${o.id}: accessor ${a}`);
      if (vis.layers) assert.equal(vis.layers[0].layerId, layerId);
      else assert.equal(vis.layerId, layerId);
    }
  }
});



test('every field name used by data views, searches and charts exists, with a mapping type that fits its use', () => {
  const problems: string[] = [];
  for (const o of objects) {
    for (const u of fieldUses(o)) {
      const fields = fieldsByView[u.view];
      if (!fields) {
        problems.push(`${o.id}: ${u.where} uses data view ${u.view}, which has no field list`);
        continue;
      }
      const type = fields.get(u.field);
      if (type === undefined) problems.push(`${o.id}: ${u.where} uses ${u.field}, not a field of ${u.view}`);
      else if (u.types && u.view !== ids.decisionView && !u.types.includes(type)) problems.push(`${o.id}: ${u.where} needs ${u.field} as ${u.types.join('|')}, the template maps it as ${type}`);
    }
  }
  assert.deepEqual(problems, []);
});
