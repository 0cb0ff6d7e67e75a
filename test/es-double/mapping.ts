// Index mappings: explicit + dynamic field definitions, and turning a
// document's _source into per-field "indexed values" once at write time (like
// Lucene, later mapping changes do not reindex old docs, and queries stay cheap).

import { parseDate } from './date-math.js';
import { EsError, err } from './errors.js';
import { globMatch, isArray, isObject, type JsonObject } from './util.js';

export type Scalar = string | number | boolean;
/** Indexed values of one field in one doc; unwrapped when single (saves memory). */
export type DocValue = Scalar | Scalar[];

/** How a field's values are indexed and compared. */
export type FieldKind = 'keyword' | 'text' | 'date' | 'numeric' | 'boolean';

export interface FieldDef {
  path: string;
  type: string;
  kind: FieldKind;
  integer: boolean;
  ignoreAbove?: number;
  format?: string;
  nullValue?: Scalar;
}

type Dynamic = 'true' | 'false' | 'strict';

const KIND_BY_TYPE: Record<string, FieldKind> = {
  keyword: 'keyword',
  constant_keyword: 'keyword',
  wildcard: 'keyword',
  ip: 'keyword',
  version: 'keyword',
  text: 'text',
  match_only_text: 'text',
  date: 'date',
  date_nanos: 'date',
  long: 'numeric',
  integer: 'numeric',
  short: 'numeric',
  byte: 'numeric',
  unsigned_long: 'numeric',
  double: 'numeric',
  float: 'numeric',
  half_float: 'numeric',
  scaled_float: 'numeric',
  boolean: 'boolean',
};
const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);

/** Field params that do not change matching semantics, so the double can ignore them. */
const IGNORED_FIELD_PARAMS = new Set([
  'index', 'doc_values', 'store', 'coerce', 'scaling_factor', 'analyzer', 'search_analyzer',
  'norms', 'eager_global_ordinals', 'similarity', 'index_options', 'meta', 'ignore_malformed',
  'split_queries_on_whitespace', 'time_series_dimension', 'time_series_metric', 'locale', 'boost',
  'term_vector', 'position_increment_gap', 'fielddata', 'value',
]);
const ROOT_PARAMS = new Set([
  'properties', 'dynamic', 'date_detection', 'dynamic_templates', '_meta', '_source', '_routing',
  'numeric_detection', 'dynamic_date_formats',
]);

interface DynamicTemplate {
  name: string;
  matchMappingType?: string;
  match?: string;
  unmatch?: string;
  pathMatch?: string;
  pathUnmatch?: string;
  mapping: JsonObject;
}

export class Mapping {
  /** Raw mapping as GET _mapping shows it (dynamic additions included). */
  private readonly raw: JsonObject = {};
  readonly fields = new Map<string, FieldDef>();
  private readonly multiFields = new Map<string, FieldDef[]>();
  private readonly objects = new Map<string, { dynamic?: Dynamic; enabled: boolean }>();
  private dynamicTemplates: DynamicTemplate[] = [];

  /** Merges a `mappings` body (template, create-index or put-mapping). */
  merge(mappings: unknown): void {
    if (mappings === undefined || mappings === null) return;
    if (!isObject(mappings)) throw err.mapperParsing('Failed to parse mapping: mappings must be an object');
    for (const key of Object.keys(mappings)) {
      if (!ROOT_PARAMS.has(key)) {
        throw err.mapperParsing(`Failed to parse mapping: Root mapping definition has unsupported parameters:  [${key} : ${JSON.stringify(mappings[key])}]`);
      }
    }
    if (mappings.numeric_detection === true) throw err.unsupported('numeric_detection');
    if (mappings.dynamic !== undefined) this.raw.dynamic = parseDynamic(mappings.dynamic, '_doc');
    if (mappings.date_detection !== undefined) this.raw.date_detection = mappings.date_detection === true || mappings.date_detection === 'true';
    if (mappings._meta !== undefined) this.raw._meta = mappings._meta;
    if (mappings.dynamic_templates !== undefined) {
      this.raw.dynamic_templates = mappings.dynamic_templates;
      this.dynamicTemplates = parseDynamicTemplates(mappings.dynamic_templates);
    }
    if (mappings.properties !== undefined) {
      const props = (this.raw.properties ??= {}) as JsonObject;
      this.mergeProperties(props, mappings.properties, '');
    }
  }

  toJSON(): JsonObject {
    return structuredClone(this.raw);
  }

  isObject(path: string): boolean {
    return this.objects.has(path);
  }

  private mergeProperties(target: JsonObject, props: unknown, prefix: string): void {
    if (!isObject(props)) throw err.mapperParsing(`Expected map for property [properties] on field [${prefix || '_doc'}]`);
    for (const [name, def] of Object.entries(props)) {
      if (!isObject(def)) throw err.mapperParsing(`Expected map for property [fields] on field [${name}] but got a class java.lang.String`);
      // A dotted property name is shorthand for nested objects.
      const dot = name.indexOf('.');
      if (dot !== -1) {
        this.mergeProperties(target, { [name.slice(0, dot)]: { properties: { [name.slice(dot + 1)]: def } } }, prefix);
        continue;
      }
      const path = prefix ? `${prefix}.${name}` : name;
      const type = def.type ?? (def.properties !== undefined || def.enabled !== undefined ? 'object' : undefined);
      if (typeof type !== 'string') throw err.mapperParsing(`No type specified for field [${name}]`);
      if (type === 'object') this.mergeObject(target, name, path, def);
      else this.mergeLeaf(target, name, path, type, def);
    }
  }

  private mergeObject(target: JsonObject, name: string, path: string, def: JsonObject): void {
    if (this.fields.has(path)) throw err.illegalArgument(`can't merge a non object mapping [${path}] with an object mapping`);
    const existing = this.objects.get(path);
    const enabled = def.enabled !== false && def.enabled !== 'false';
    const dynamic = def.dynamic === undefined ? existing?.dynamic : parseDynamic(def.dynamic, path);
    this.objects.set(path, { dynamic, enabled: existing?.enabled ?? enabled });
    const rawObj = (isObject(target[name]) ? target[name] : (target[name] = {}));
    if (def.type === 'object') rawObj.type = 'object';
    if (dynamic !== undefined) rawObj.dynamic = dynamic;
    if (!enabled) rawObj.enabled = false;
    if (def.properties !== undefined) {
      const props = (rawObj.properties ??= {}) as JsonObject;
      this.mergeProperties(props, def.properties, path);
    }
  }

  private mergeLeaf(target: JsonObject, name: string, path: string, type: string, def: JsonObject): void {
    const kind = KIND_BY_TYPE[type];
    if (kind === undefined) {
      if (type === 'nested' || type === 'flattened' || type.startsWith('geo_') || type === 'dense_vector' || type === 'alias') {
        throw err.unsupported(`field type [${type}] (field [${path}])`);
      }
      throw err.mapperParsing(`Failed to parse mapping: No handler for type [${type}] declared on field [${name}]`);
    }
    if (this.objects.has(path)) throw err.illegalArgument(`can't merge a non object mapping [${path}] with an object mapping`);
    const prev = this.fields.get(path);
    if (prev && prev.type !== type) {
      throw err.illegalArgument(`mapper [${path}] cannot be changed from type [${prev.type}] to [${type}]`);
    }
    for (const key of Object.keys(def)) {
      if (key === 'copy_to' || key === 'normalizer') throw err.unsupported(`mapping parameter [${key}] (field [${path}])`);
      if (!['type', 'fields', 'ignore_above', 'format', 'null_value'].includes(key) && !IGNORED_FIELD_PARAMS.has(key)) {
        throw err.mapperParsing(`Failed to parse mapping: unknown parameter [${key}] on mapper [${name}] of type [${type}]`);
      }
    }
    const field = makeField(path, type, kind, def);
    this.fields.set(path, field);
    const rawLeaf: JsonObject = { ...def };
    delete rawLeaf.fields;
    target[name] = rawLeaf;
    if (def.fields !== undefined) {
      if (!isObject(def.fields)) throw err.mapperParsing(`Expected map for property [fields] on field [${name}]`);
      const subs: FieldDef[] = [];
      const rawSubs: JsonObject = {};
      for (const [subName, subDef] of Object.entries(def.fields)) {
        const subType = isObject(subDef) ? subDef.type : undefined;
        const subKind = typeof subType === 'string' ? KIND_BY_TYPE[subType] : undefined;
        if (!isObject(subDef) || typeof subType !== 'string' || subKind === undefined) {
          throw err.mapperParsing(`Failed to parse mapping: unsupported multi-field [${path}.${subName}]`);
        }
        const sub = makeField(`${path}.${subName}`, subType, subKind, subDef);
        this.fields.set(sub.path, sub);
        subs.push(sub);
        rawSubs[subName] = subDef;
      }
      this.multiFields.set(path, subs);
      rawLeaf.fields = rawSubs;
    }
  }

  /**
   * Validates a document, adds dynamic mappings, and returns its indexed
   * values keyed by field path. Throws document_parsing_exception like ES.
   */
  index(id: string, source: JsonObject): Map<string, DocValue> {
    const out = new Map<string, DocValue>();
    this.walk(source, '', asDynamic(this.raw.dynamic), id, out);
    return out;
  }

  private walk(obj: JsonObject, prefix: string, dynamic: Dynamic, id: string, out: Map<string, DocValue>): void {
    for (const [key, value] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${key}` : key;
      for (const v of isArray(value) ? (value.flat(Infinity) satisfies unknown[]) : [value]) {
        this.indexValue(path, v, dynamic, id, out);
      }
    }
  }

  private indexValue(path: string, v: unknown, dynamic: Dynamic, id: string, out: Map<string, DocValue>): void {
    const field = this.fields.get(path);
    if (isObject(v)) {
      if (field) throw parseFailure(path, field.type, id, v);
      let obj = this.objects.get(path);
      if (!obj) {
        if (dynamic === 'strict') throw strictError(path);
        if (dynamic === 'false') return;
        this.addDynamicObject(path);
        obj = this.objects.get(path);
      }
      if (!obj || !obj.enabled) return;
      this.walk(v, path, obj.dynamic ?? dynamic, id, out);
      return;
    }
    if (this.objects.has(path)) {
      if (v === null) return;
      throw new EsError(400, 'document_parsing_exception', `[1:1] object mapping for [${path}] tried to parse field [${path}] as object, but found a concrete value`);
    }
    let def = field;
    if (!def) {
      if (v === null) return; // null never creates a mapping
      if (dynamic === 'strict') throw strictError(path);
      if (dynamic === 'false') return;
      def = this.addDynamicLeaf(path, v);
      if (!def) return;
    }
    this.addIndexed(def, v, id, out);
    for (const sub of this.multiFields.get(path) ?? []) this.addIndexed(sub, v, id, out);
  }

  private addIndexed(def: FieldDef, raw: unknown, id: string, out: Map<string, DocValue>): void {
    const v = raw === null ? def.nullValue : raw;
    if (v === undefined || v === null) return;
    const indexed = coerce(def, v);
    if (indexed === undefined) throw parseFailure(def.path, def.type, id, v);
    for (const one of Array.isArray(indexed) ? indexed : [indexed]) {
      const prev = out.get(def.path);
      if (prev === undefined) out.set(def.path, one);
      else if (Array.isArray(prev)) prev.push(one);
      else out.set(def.path, [prev, one]);
    }
  }

  private addDynamicObject(path: string): void {
    this.ensureParents(path);
    const { parent, name } = this.rawParent(path);
    parent[name] = { properties: {} };
    this.objects.set(path, { enabled: true });
  }

  private addDynamicLeaf(path: string, v: unknown): FieldDef | undefined {
    const detected = detectType(v, this.raw.date_detection !== false);
    if (!detected) return undefined;
    const name = path.slice(path.lastIndexOf('.') + 1);
    const tpl = this.dynamicTemplates.find((t) => templateMatches(t, detected.matchType, name, path));
    const def: JsonObject = tpl ? substituteDynamicType(tpl.mapping, detected.matchType) : detected.mapping;
    if (typeof def.type !== 'string') def.type = detected.mapping.type;
    this.ensureParents(path);
    const { parent } = this.rawParent(path);
    this.mergeProperties(parent, { [name]: def }, path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');
    return this.fields.get(path);
  }

  /** Creates dynamic object mappings for every missing ancestor of a path. */
  private ensureParents(path: string): void {
    const parts = path.split('.');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('.');
      if (!this.objects.has(p)) this.addDynamicObject(p);
    }
  }

  private rawParent(path: string): { parent: JsonObject; name: string } {
    const parts = path.split('.');
    let props = (this.raw.properties ??= {}) as JsonObject;
    for (const part of parts.slice(0, -1)) {
      const obj = props[part] as JsonObject;
      props = (obj.properties ??= {}) as JsonObject;
    }
    return { parent: props, name: parts[parts.length - 1] ?? path };
  }
}

function makeField(path: string, type: string, kind: FieldKind, def: JsonObject): FieldDef {
  const field: FieldDef = { path, type, kind, integer: INTEGER_TYPES.has(type) };
  if (typeof def.ignore_above === 'number') field.ignoreAbove = def.ignore_above;
  if (typeof def.format === 'string') field.format = def.format;
  const nv = def.null_value;
  if (typeof nv === 'string' || typeof nv === 'number' || typeof nv === 'boolean') field.nullValue = nv;
  return field;
}

/** Normalises one source value to its indexed form(s); undefined = malformed. */
function coerce(def: FieldDef, v: unknown): Scalar | Scalar[] | undefined {
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return undefined;
  switch (def.kind) {
    case 'keyword': {
      const s = String(v);
      // ignore_above: kept in _source but not indexed.
      return def.ignoreAbove !== undefined && s.length > def.ignoreAbove ? [] : s;
    }
    case 'text':
      return tokenize(String(v));
    case 'date':
      return typeof v === 'boolean' ? undefined : parseDate(v, { format: def.format });
    case 'numeric': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) return undefined;
      return def.integer ? Math.trunc(n) : n;
    }
    case 'boolean':
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false' || v === '') return false;
      return undefined;
  }
}

/** Rough standard-analyzer: lowercase word tokens. */
export function tokenize(s: string): string[] {
  return s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0);
}

function detectType(v: unknown, dateDetection: boolean): { matchType: string; mapping: JsonObject } | undefined {
  if (typeof v === 'boolean') return { matchType: 'boolean', mapping: { type: 'boolean' } };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { matchType: 'long', mapping: { type: 'long' } } : { matchType: 'double', mapping: { type: 'float' } };
  }
  if (typeof v === 'string') {
    // Date detection only uses the ISO format (not epoch), like ES.
    if (dateDetection && /^\d{4}[-/]\d{2}[-/]\d{2}/.test(v) && parseDate(v, { format: 'strict_date_optional_time' }) !== undefined) {
      return { matchType: 'date', mapping: { type: 'date' } };
    }
    return {
      matchType: 'string',
      mapping: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
    };
  }
  return undefined;
}

function parseDynamic(v: unknown, path: string): Dynamic {
  if (v === true || v === 'true') return 'true';
  if (v === false || v === 'false') return 'false';
  if (v === 'strict') return 'strict';
  // `runtime` fields are not indexed, which from the double's view equals false.
  if (v === 'runtime') return 'false';
  throw err.mapperParsing(`Failed to parse mapping: Could not convert [${path}.dynamic] to boolean`);
}

function asDynamic(v: unknown): Dynamic {
  return v === 'false' || v === 'strict' ? v : 'true';
}

function parseDynamicTemplates(v: unknown): DynamicTemplate[] {
  if (!isArray(v)) throw err.mapperParsing('Failed to parse mapping: Dynamic template syntax error. An array of named objects is expected.');
  return v.map((entry) => {
    const [name, body] = isObject(entry) ? (Object.entries(entry)[0] ?? []) : [];
    if (typeof name !== 'string' || !isObject(body) || !isObject(body.mapping)) {
      throw err.mapperParsing('Failed to parse mapping: Dynamic template syntax error. An array of named objects is expected.');
    }
    const str = (k: string): string | undefined => (typeof body[k] === 'string' ? (body[k]) : undefined);
    for (const k of Object.keys(body)) {
      if (!['mapping', 'match_mapping_type', 'match', 'unmatch', 'path_match', 'path_unmatch'].includes(k)) {
        throw err.unsupported(`dynamic template parameter [${k}]`);
      }
    }
    return {
      name,
      matchMappingType: str('match_mapping_type'),
      match: str('match'),
      unmatch: str('unmatch'),
      pathMatch: str('path_match'),
      pathUnmatch: str('path_unmatch'),
      mapping: body.mapping,
    };
  });
}

function templateMatches(t: DynamicTemplate, matchType: string, name: string, path: string): boolean {
  if (t.matchMappingType !== undefined && t.matchMappingType !== '*' && t.matchMappingType !== matchType) return false;
  if (t.match !== undefined && !globMatch(t.match, name)) return false;
  if (t.unmatch !== undefined && globMatch(t.unmatch, name)) return false;
  if (t.pathMatch !== undefined && !globMatch(t.pathMatch, path)) return false;
  if (t.pathUnmatch !== undefined && globMatch(t.pathUnmatch, path)) return false;
  return true;
}

function substituteDynamicType(mapping: JsonObject, matchType: string): JsonObject {
  const dynamicType = matchType === 'string' ? 'text' : matchType === 'double' ? 'float' : matchType;
  return JSON.parse(JSON.stringify(mapping).replaceAll('{dynamic_type}', dynamicType)) as JsonObject;
}

function parseFailure(path: string, type: string, id: string, v: unknown): EsError {
  const preview = isObject(v) ? JSON.stringify(v) : String(v);
  return new EsError(
    400,
    'document_parsing_exception',
    `[1:1] failed to parse field [${path}] of type [${type}] in document with id '${id}'. Preview of field's value: '${preview}'`,
  );
}

function strictError(path: string): EsError {
  return new EsError(
    400,
    'strict_dynamic_mapping_exception',
    `[1:1] mapping set to strict, dynamic introduction of [${path.slice(path.lastIndexOf('.') + 1)}] within [${path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '_doc'}] is not allowed`,
  );
}
