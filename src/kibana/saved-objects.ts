// The Kibana saved objects shipped in docker/kibana/saved-objects.ndjson: data
// views, saved searches, Lens charts and one dashboard. Built here, in code a
// reviewer can read, and written to the file by `npx tsx src/kibana/saved-objects.ts`;
// a unit test keeps the file equal to this output and checks every field name
// against the index templates and the decision log record.
//
// Format: Kibana 8.9+ (and 9.x) exports. Each object declares the migration
// version its shape matches, so Kibana runs only the migrations after it; an
// object without one would be run through every Lens migration since 7.7 and
// fail. Lens state uses the `formBased` datasource (Lens 8.9.0 shape).
import { pathToFileURL } from 'node:url';
import { abandonIndexPrefix, cdrIndexPattern } from '../cdr/index-names.js';

export interface SavedObjectReference {
  id: string;
  name: string;
  type: string;
}

export interface SavedObject {
  type: 'index-pattern' | 'search' | 'lens' | 'dashboard';
  id: string;
  attributes: Record<string, unknown>;
  references: SavedObjectReference[];
  coreMigrationVersion: string;
  typeMigrationVersion: string;
  managed: false;
}

export interface SavedObjectsOptions {
  /** ES_INDEX_PREFIX. Default `cdr`. */
  indexPrefix?: string;
  /** Where the user's log shipper writes the router's ECS lines. Default `logs-sticky_router-*`. */
  logsPattern?: string;
  /** PUBLIC_URL: where browsers reach the router (the HTTPS proxy). Default the compose stack's Caddy. */
  recordingsUrl?: string;
}

/** The compose stack's HTTPS proxy (docker/caddy/Caddyfile): the default base of the recording links. */
export const defaultRecordingsUrl = 'https://localhost:8443';

/**
 * The recording link on each CDR: our stable play endpoint, which asks for the
 * recordings password (HTTP Basic) and redirects to a fresh signed media link; a
 * signed link stored in Kibana would expire.
 */
export function recordingLinkFormat(base: string): Record<string, unknown> {
  return { id: 'url', params: { type: 'a', urlTemplate: `${base.replace(/\/+$/, '')}/v1/recordings/play?file={{value}}`, labelTemplate: '▶ listen ({{value}})', openLinkInCurrentTab: false } };
}

/** Stable ids: re-importing with overwrite updates these objects instead of adding copies. */
export const ids = {
  cdrView: 'sticky-router-cdr',
  abandonView: 'sticky-router-abandons',
  decisionView: 'sticky-router-decisions',
  callsOfNumber: 'sticky-router-search-calls-of-number',
  callsWithRecording: 'sticky-router-search-calls-with-recording',
  decisions: 'sticky-router-search-decisions',
  abandons: 'sticky-router-search-abandons',
  agentUnavailable: 'sticky-router-search-agent-unavailable',
  recalls: 'sticky-router-search-recalls',
  hitRate: 'sticky-router-lens-hit-rate',
  routedCalls: 'sticky-router-lens-routed-calls',
  reasonsOverTime: 'sticky-router-lens-fallback-reasons',
  abandonsByQueue: 'sticky-router-lens-abandons-by-queue',
  abandonsByWait: 'sticky-router-lens-abandons-by-wait',
  dashboard: 'sticky-router-dashboard',
  qualityOverTime: 'sticky-router-lens-quality-over-time',
  worstCalls: 'sticky-router-lens-worst-calls',
  qualityByAgent: 'sticky-router-lens-quality-by-agent',
  qualityByTrunk: 'sticky-router-lens-quality-by-trunk',
  poorCalls: 'sticky-router-search-poor-calls',
  qualityDashboard: 'sticky-router-quality-dashboard',
} as const;

/**
 * The data view titles. CDRs and abandons share the prefix, and `cdr-*` alone
 * would also match `cdr-abandons-*`: the CDR view excludes the abandons by name,
 * the same expression the router's own export uses (cdrIndexPattern).
 */
export function dataViewTitles(o: SavedObjectsOptions = {}): { cdr: string; abandons: string; decisions: string } {
  const prefix = o.indexPrefix ?? 'cdr';
  return { cdr: cdrIndexPattern(prefix), abandons: `${abandonIndexPrefix(prefix)}-*`, decisions: o.logsPattern ?? 'logs-sticky_router-*' };
}

const CORE = '8.8.0';
const LENS = '8.9.0';
const kuery = (query: string) => ({ query, language: 'kuery' });
const durationSeconds = { id: 'duration', params: { inputFormat: 'seconds', outputFormat: 'humanizePrecise', outputPrecision: 0 } };

function dataView(id: string, title: string, name: string, fieldFormatMap: Record<string, unknown> = {}): SavedObject {
  return {
    type: 'index-pattern',
    id,
    attributes: {
      title,
      name,
      timeFieldName: '@timestamp',
      fields: '[]',
      fieldAttrs: '{}',
      fieldFormatMap: JSON.stringify(fieldFormatMap),
      runtimeFieldMap: '{}',
      sourceFilters: '[]',
      typeMeta: '{}',
      allowNoIndex: true,
    },
    references: [],
    coreMigrationVersion: CORE,
    typeMigrationVersion: '7.11.0',
    managed: false,
  };
}

function search(id: string, view: string, title: string, description: string, query: string, columns: string[], sort: 'asc' | 'desc' = 'desc'): SavedObject {
  return {
    type: 'search',
    id,
    attributes: {
      title,
      description,
      columns,
      sort: [['@timestamp', sort]],
      grid: {},
      hideChart: false,
      isTextBasedQuery: false,
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({ query: kuery(query), filter: [], indexRefName: 'kibanaSavedObjectMeta.searchSourceJSON.index' }),
      },
    },
    references: [{ id: view, name: 'kibanaSavedObjectMeta.searchSourceJSON.index', type: 'index-pattern' }],
    coreMigrationVersion: CORE,
    typeMigrationVersion: '7.9.3',
    managed: false,
  };
}

type Column = Record<string, unknown>;

function lens(id: string, view: string, title: string, description: string, visualizationType: string, layer: string, columns: Record<string, Column>, columnOrder: string[], visualization: Record<string, unknown>, query = ''): SavedObject {
  return {
    type: 'lens',
    id,
    attributes: {
      title,
      description,
      visualizationType,
      state: {
        visualization,
        query: kuery(query),
        filters: [],
        datasourceStates: { formBased: { layers: { [layer]: { columns, columnOrder, incompleteColumns: {} } } } },
        internalReferences: [],
        adHocDataViews: {},
      },
    },
    references: [{ id: view, name: `indexpattern-datasource-layer-${layer}`, type: 'index-pattern' }],
    coreMigrationVersion: CORE,
    typeMigrationVersion: LENS,
    managed: false,
  };
}

const dateHistogram = (): Column => ({
  label: '@timestamp',
  dataType: 'date',
  operationType: 'date_histogram',
  sourceField: '@timestamp',
  isBucketed: true,
  scale: 'interval',
  params: { interval: 'auto', includeEmptyRows: true, dropPartials: false },
});

const topValues = (field: string, label: string, orderBy: string, size: number, missingBucket = false): Column => ({
  label,
  customLabel: true,
  dataType: 'string',
  operationType: 'terms',
  sourceField: field,
  isBucketed: true,
  scale: 'ordinal',
  params: { size, orderBy: { type: 'column', columnId: orderBy }, orderDirection: 'desc', otherBucket: true, missingBucket, parentFormat: { id: 'terms' }, include: [], exclude: [], includeIsRegex: false, excludeIsRegex: false },
});

/** One call = one caller channel: every CDR leg of a call (queue members rung, transfers) shares asterisk.uniqueid. */
const uniqueCalls = (label: string, filter?: string): Column => ({
  label,
  customLabel: true,
  dataType: 'number',
  operationType: 'unique_count',
  sourceField: 'asterisk.uniqueid',
  isBucketed: false,
  scale: 'ratio',
  params: { emptyAsNull: true },
  ...(filter ? { filter: kuery(filter) } : {}),
});

const records = (label: string): Column => ({ label, customLabel: true, dataType: 'number', operationType: 'count', sourceField: '___records___', isBucketed: false, scale: 'ratio', params: { emptyAsNull: true } });

const routed = 'sticky_reason : *';
const sticky = 'sticky_reason : "sticky_agent"';

/** unique_count(asterisk.uniqueid, kql='sticky') / unique_count(asterisk.uniqueid, kql='routed'), with the sub-columns Lens stores for a formula. */
function hitRateColumns(): Record<string, Column> {
  const formula = `unique_count(asterisk.uniqueid, kql='${sticky}') / unique_count(asterisk.uniqueid, kql='${routed}')`;
  const part = 'Part of Sticky hit rate';
  return {
    hitX0: { ...uniqueCalls(part, sticky), params: { emptyAsNull: false } },
    hitX1: { ...uniqueCalls(part, routed), params: { emptyAsNull: false } },
    hitX2: {
      label: part,
      customLabel: true,
      dataType: 'number',
      operationType: 'math',
      isBucketed: false,
      scale: 'ratio',
      params: { tinymathAst: { type: 'function', name: 'divide', args: ['hitX0', 'hitX1'], location: { min: 0, max: formula.length }, text: formula } },
      references: ['hitX0', 'hitX1'],
    },
    hit: {
      label: 'Sticky hit rate',
      customLabel: true,
      dataType: 'number',
      operationType: 'formula',
      isBucketed: false,
      scale: 'ratio',
      params: { formula, isFormulaBroken: false, format: { id: 'percent', params: { decimals: 1 } } },
      references: ['hitX2'],
    },
  };
}

const xy = (layerId: string, seriesType: string, xAccessor: string, accessors: string[], splitAccessor?: string) => ({
  legend: { isVisible: true, position: 'right' },
  valueLabels: 'hide',
  fittingFunction: 'None',
  preferredSeriesType: seriesType,
  axisTitlesVisibilitySettings: { x: true, yLeft: true, yRight: true },
  tickLabelsVisibilitySettings: { x: true, yLeft: true, yRight: true },
  gridlinesVisibilitySettings: { x: true, yLeft: true, yRight: true },
  layers: [{ layerId, layerType: 'data', seriesType, xAccessor, accessors, ...(splitAccessor ? { splitAccessor } : {}) }],
});

interface Panel {
  id: string;
  type: SavedObject['type'];
  x: number;
  y: number;
  w: number;
  h: number;
}

function dashboard(
  panels: Panel[],
  id: string = ids.dashboard,
  title = 'sticky-router',
  description = 'Returning callers routed to their last agent: sticky hit rate, why calls fell back, and abandoned calls. Data: the CDR and abandon indices the router ships to Elasticsearch.',
): SavedObject {
  return {
    type: 'dashboard',
    id,
    attributes: {
      title,
      description,
      timeRestore: true,
      timeFrom: 'now-24h',
      timeTo: 'now',
      refreshInterval: { pause: false, value: 60_000 },
      optionsJSON: JSON.stringify({ useMargins: true, syncColors: false, syncCursor: true, syncTooltips: false, hidePanelTitles: false }),
      panelsJSON: JSON.stringify(
        panels.map((p, i) => ({
          version: LENS,
          type: p.type,
          gridData: { x: p.x, y: p.y, w: p.w, h: p.h, i: String(i + 1) },
          panelIndex: String(i + 1),
          embeddableConfig: { enhancements: {} },
          panelRefName: `panel_${i + 1}`,
        })),
      ),
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: kuery(''), filter: [] }) },
      version: 1,
    },
    references: panels.map((p, i) => ({ id: p.id, name: `${i + 1}:panel_${i + 1}`, type: p.type })),
    coreMigrationVersion: CORE,
    typeMigrationVersion: '8.7.0',
    managed: false,
  };
}

export function buildSavedObjects(o: SavedObjectsOptions = {}): SavedObject[] {
  const t = dataViewTitles(o);
  return [
    dataView(ids.cdrView, t.cdr, 'sticky-router: CDRs', {
      talk_seconds: durationSeconds,
      'asterisk.duration': durationSeconds,
      'asterisk.billsec': durationSeconds,
      'recording.duration_s': durationSeconds,
      'recording.file': recordingLinkFormat(o.recordingsUrl ?? defaultRecordingsUrl),
    }),
    dataView(ids.abandonView, t.abandons, 'sticky-router: abandoned calls', { waited_seconds: durationSeconds }),
    dataView(ids.decisionView, t.decisions, 'sticky-router: routing decisions (router logs)'),

    search(
      ids.callsOfNumber,
      ids.cdrView,
      'sticky-router: all calls of one number',
      'Edit the number in the query (E.164, with +). Every CDR leg of every call to or from that customer, newest first.',
      'customer_e164 : "+12025550100"',
      ['direction', 'customer_e164', 'agent', 'talk_seconds', 'sticky_reason', 'did', 'asterisk.disposition', 'asterisk.uniqueid'],
    ),
    search(
      ids.callsWithRecording,
      ids.cdrView,
      'sticky-router: calls with a recording',
      'Calls the PBX recorded, newest first. Click the recording to listen: the router asks for the recordings password (RECORDINGS_TOKEN) once per browser session and plays the file through a fresh signed link. Recordings that retention deleted drop out.',
      'recording.file : * and not recording.deleted_at : *',
      ['customer_e164', 'agent', 'direction', 'did', 'recording.duration_s', 'recording.file', 'sticky_reason', 'asterisk.uniqueid'],
    ),
    search(
      ids.decisions,
      ids.decisionView,
      'sticky-router: routing decisions',
      "One line per call from the router's log (event.action: decision): which agent, why (reason), where the answer came from and how long it took. Needs the router's stdout shipped to Elasticsearch.",
      'event.action : "decision"',
      ['reason', 'action', 'sticky.agent', 'caller.e164', 'did', 'lookup.source', 'lookup.ms', 'ring.outcome', 'ring.ms', 'decideMs'],
    ),
    search(
      ids.abandons,
      ids.abandonView,
      'sticky-router: abandoned calls',
      'Callers who hung up before an agent answered: in a queue (source: queue), while their sticky agent rang (source: sticky_ring), or while held for their busy sticky agent (source: sticky_wait).',
      '',
      ['source', 'caller.e164', 'caller.raw', 'did', 'queue', 'waited_seconds', 'position', 'original_position', 'sticky_agent', 'short', 'resolved_at', 'resolved_by', 'resolved_how'],
    ),
    search(
      ids.recalls,
      ids.abandonView,
      'sticky-router: callers to call back',
      'Abandoned calls whose caller nobody has reached since (no resolved_at), short abandons left out; oldest first. The same list, one line per caller, is GET /v1/recalls and `sticky-router recalls`.',
      'not resolved_at : * and not short : true',
      ['caller.e164', 'caller.raw', 'waited_seconds', 'sticky_agent', 'did', 'queue', 'source'],
      'asc',
    ),

    search(
      ids.agentUnavailable,
      ids.cdrView,
      'sticky-router: sticky agent not available',
      "Calls whose sticky agent was not rung: paused or logged out of the DID's queue (agent_paused, agent_logged_out, from AMI queue state), on another call or in wrap-up (agent_busy), or with no phone (agent_offline).",
      'sticky_reason : ("agent_paused" or "agent_logged_out" or "agent_busy" or "agent_offline")',
      ['sticky_reason', 'agent', 'customer_e164', 'did', 'direction', 'asterisk.uniqueid'],
    ),

    lens(ids.hitRate, ids.cdrView, 'Sticky hit rate', 'Share of calls the router handled that went to the agent the caller last talked to.', 'lnsMetric', 'hit', hitRateColumns(), ['hitX0', 'hitX1', 'hitX2', 'hit'], {
      layerId: 'hit',
      layerType: 'data',
      metricAccessor: 'hit',
    }),
    lens(
      ids.routedCalls,
      ids.cdrView,
      'Calls the router handled, by outcome',
      'Calls (not CDR legs) per reason code: sticky_agent is a hit, every other code a fallback to the IVR.',
      'lnsXY',
      'routed',
      { reason: topValues('sticky_reason', 'Reason', 'calls', 12), calls: uniqueCalls('Calls') },
      ['reason', 'calls'],
      xy('routed', 'bar_horizontal', 'reason', ['calls']),
      routed,
    ),
    lens(
      ids.reasonsOverTime,
      ids.cdrView,
      'Fallback reasons over time',
      'Calls that did not reach their sticky agent, by reason.',
      'lnsXY',
      'fallback',
      { ts: dateHistogram(), reason: topValues('sticky_reason', 'Reason', 'calls', 10), calls: uniqueCalls('Calls') },
      ['reason', 'ts', 'calls'],
      xy('fallback', 'bar_stacked', 'ts', ['calls'], 'reason'),
      `${routed} and not ${sticky}`,
    ),
    lens(
      ids.abandonsByQueue,
      ids.abandonView,
      'Abandoned calls by queue',
      'Abandons per queue; "(missing value)" is a caller who hung up while their sticky agent rang, before any queue.',
      'lnsXY',
      'byqueue',
      { queue: topValues('queue', 'Queue', 'abandons', 20, true), source: topValues('source', 'Where', 'abandons', 3), abandons: records('Abandoned calls') },
      ['queue', 'source', 'abandons'],
      xy('byqueue', 'bar_horizontal_stacked', 'queue', ['abandons'], 'source'),
    ),
    lens(
      ids.abandonsByWait,
      ids.abandonView,
      'Abandoned calls by time waited',
      'How long callers waited before hanging up (seconds).',
      'lnsXY',
      'bywait',
      {
        waited: {
          label: 'Waited (s)',
          customLabel: true,
          dataType: 'number',
          operationType: 'range',
          sourceField: 'waited_seconds',
          isBucketed: true,
          scale: 'interval',
          params: { type: 'histogram', ranges: [{ from: 0, to: 1000, label: '' }], maxBars: 'auto', includeEmptyRows: true },
        },
        abandons: records('Abandoned calls'),
      },
      ['waited', 'abandons'],
      xy('bywait', 'bar', 'waited', ['abandons']),
    ),

    dashboard([
      { id: ids.hitRate, type: 'lens', x: 0, y: 0, w: 12, h: 10 },
      { id: ids.routedCalls, type: 'lens', x: 12, y: 0, w: 36, h: 10 },
      { id: ids.reasonsOverTime, type: 'lens', x: 0, y: 10, w: 48, h: 14 },
      { id: ids.abandonsByQueue, type: 'lens', x: 0, y: 24, w: 24, h: 14 },
      { id: ids.abandonsByWait, type: 'lens', x: 24, y: 24, w: 24, h: 14 },
      { id: ids.abandons, type: 'search', x: 0, y: 38, w: 48, h: 16 },
      { id: ids.callsWithRecording, type: 'search', x: 0, y: 54, w: 48, h: 16 },
    ]),
    ...qualityObjects(),
  ];
}

// ---- voice quality (quality.* in the CDR documents, src/cdr/quality.ts) -------------
const metric = (operationType: 'average' | 'min' | 'max', field: string, label: string, decimals = 1): Column => ({
  label,
  customLabel: true,
  dataType: 'number',
  operationType,
  sourceField: field,
  isBucketed: false,
  scale: 'ratio',
  params: { emptyAsNull: true, format: { id: 'number', params: { decimals } } },
});
const withQuality = 'quality.mes : * or quality.loss_pct : *';

function qualityObjects(): SavedObject[] {
  const byTerm = (field: string, label: string, size: number): Column => ({ ...topValues(field, label, 'mes', size), params: { ...(topValues(field, label, 'mes', size).params as object), orderDirection: 'asc' } });
  const perGroup = (field: string, label: string) => ({
    group: byTerm(field, label, 20),
    mes: metric('average', 'quality.mes', 'Average MES'),
    loss: metric('average', 'quality.loss_pct', 'Average loss %', 2),
    jitter: metric('average', 'quality.jitter_ms', 'Average jitter (ms)', 2),
    calls: uniqueCalls('Calls'),
  });
  const table = (layerId: string, cols: string[]) => ({ layerId, layerType: 'data', columns: cols.map((columnId) => ({ columnId })) });
  return [
    lens(
      ids.qualityOverTime,
      ids.cdrView,
      'Voice quality over time',
      "Average MES (0-100, Asterisk's media experience score; the worse leg of each call) and average and worst packet loss %.",
      'lnsXY',
      'qot',
      { ts: dateHistogram(), mes: metric('average', 'quality.mes', 'Average MES'), loss: metric('average', 'quality.loss_pct', 'Average loss %', 2), worst: metric('max', 'quality.loss_pct', 'Worst loss %', 2) },
      ['ts', 'mes', 'loss', 'worst'],
      xy('qot', 'line', 'ts', ['mes', 'loss', 'worst']),
      withQuality,
    ),
    lens(
      ids.worstCalls,
      ids.cdrView,
      'Worst calls',
      'The 25 calls with the lowest MES: open one in Discover by its uniqueid.',
      'lnsDatatable',
      'worst',
      {
        call: byTerm('asterisk.uniqueid', 'Call (uniqueid)', 25),
        mes: metric('min', 'quality.mes', 'MES'),
        loss: metric('max', 'quality.loss_pct', 'Loss %', 2),
        jitter: metric('max', 'quality.jitter_ms', 'Jitter (ms)', 2),
        setup: metric('max', 'quality.setup_ms', 'Set-up (ms)', 0),
      },
      ['call', 'mes', 'loss', 'jitter', 'setup'],
      table('worst', ['call', 'mes', 'loss', 'jitter', 'setup']),
      withQuality,
    ),
    lens(ids.qualityByAgent, ids.cdrView, 'Voice quality by agent', 'Agents with the lowest average MES first.', 'lnsDatatable', 'byagent', perGroup('agent', 'Agent'), ['group', 'mes', 'loss', 'jitter', 'calls'], table('byagent', ['group', 'mes', 'loss', 'jitter', 'calls']), withQuality),
    lens(ids.qualityByTrunk, ids.cdrView, 'Voice quality by trunk', "By the caller's endpoint (PJSIP/<trunk>), lowest average MES first.", 'lnsDatatable', 'bytrunk', perGroup('quality.trunk', 'Trunk'), ['group', 'mes', 'loss', 'jitter', 'calls'], table('bytrunk', ['group', 'mes', 'loss', 'jitter', 'calls']), withQuality),
    search(
      ids.poorCalls,
      ids.cdrView,
      'sticky-router: poor-quality calls',
      'Calls with MES below 70 or more than 3 % packet loss in either direction of either leg. Edit the limits in the query.',
      'quality.mes < 70 or quality.loss_pct > 3',
      ['customer_e164', 'agent', 'did', 'quality.mes', 'quality.loss_pct', 'quality.jitter_ms', 'quality.codec', 'quality.trunk', 'quality.hangup_by', 'asterisk.uniqueid'],
    ),
    dashboard(
      [
        { id: ids.qualityOverTime, type: 'lens', x: 0, y: 0, w: 48, h: 14 },
        { id: ids.worstCalls, type: 'lens', x: 0, y: 14, w: 24, h: 16 },
        { id: ids.qualityByAgent, type: 'lens', x: 24, y: 14, w: 24, h: 8 },
        { id: ids.qualityByTrunk, type: 'lens', x: 24, y: 22, w: 24, h: 8 },
        { id: ids.poorCalls, type: 'search', x: 0, y: 30, w: 48, h: 16 },
      ],
      ids.qualityDashboard,
      'sticky-router: voice quality',
      "Per-call voice quality measured by Asterisk at hangup (both legs' RTP statistics): MES, packet loss, jitter, worst calls, by agent and by trunk.",
    ),
  ];
}

/** One object per line, as Kibana's export writes it. */
export function toNdjson(objects: readonly SavedObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
}

// `npx tsx src/kibana/saved-objects.ts > docker/kibana/saved-objects.ndjson`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(toNdjson(buildSavedObjects()));
}
