// One index: its documents, mapping and settings, plus document-level writes
// with ES's versioning / optimistic-concurrency semantics (one primary shard).

import { randomBytes } from 'node:crypto';
import { EsError, err } from './errors.js';
import { Mapping, type DocValue } from './mapping.js';
import { isArray, isObject, type JsonObject } from './util.js';

export interface StoredDoc {
  readonly id: string;
  readonly source: JsonObject;
  readonly version: number;
  readonly seqNo: number;
  /** Lucene-like doc order: a fresh ordinal on every write (updates move to the end). */
  readonly ord: number;
  readonly values: Map<string, DocValue>;
}

export type WriteOutcome = 'created' | 'updated' | 'deleted' | 'not_found' | 'noop';

export interface WriteResult {
  _index: string;
  _id: string;
  _version: number;
  result: WriteOutcome;
  _shards: { total: number; successful: number; failed: number };
  _seq_no: number;
  _primary_term: number;
  status: number;
}

export interface WriteConditions {
  ifSeqNo?: number;
  ifPrimaryTerm?: number;
}

export interface UpdateBody {
  doc?: unknown;
  upsert?: unknown;
  doc_as_upsert?: unknown;
  detect_noop?: unknown;
  script?: unknown;
}

const PRIMARY_TERM = 1;

export function newUuid(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

export class IndexState {
  readonly uuid = newUuid();
  readonly createdAt = Date.now();
  readonly docs = new Map<string, StoredDoc>();
  /** Bumped on every mutation so cached search results can be invalidated. */
  generation = 0;
  private nextSeqNo = 0;
  private nextOrd = 0;

  constructor(
    readonly name: string,
    readonly mapping: Mapping,
    /** Flat `index.*` settings with string values, as ES normalises them. */
    readonly settings: Map<string, string>,
  ) {}

  get maxResultWindow(): number {
    return Number(this.settings.get('index.max_result_window') ?? 10_000);
  }

  private shards(successful = 1): WriteResult['_shards'] {
    const replicas = Number(this.settings.get('index.number_of_replicas') ?? 1);
    return { total: successful === 0 ? 0 : 1 + replicas, successful, failed: 0 };
  }

  get(id: string): StoredDoc | undefined {
    return this.docs.get(id);
  }

  index(id: string, source: unknown, opType: 'index' | 'create', cond: WriteConditions = {}): WriteResult {
    if (!isObject(source)) throw err.documentParsing('failed to parse, document is empty or not an object');
    const prev = this.docs.get(id);
    if (opType === 'create' && prev) {
      throw err.versionConflict(this.name, this.uuid, id, `document already exists (current version [${prev.version}])`);
    }
    this.checkConditions(id, prev, cond);
    return this.store(id, source, prev);
  }

  delete(id: string, cond: WriteConditions = {}): WriteResult {
    const prev = this.docs.get(id);
    this.checkConditions(id, prev, cond);
    const seqNo = this.nextSeqNo++;
    if (!prev) return this.result(id, 1, seqNo, 'not_found', 404);
    this.docs.delete(id);
    this.generation++;
    return this.result(id, prev.version + 1, seqNo, 'deleted', 200);
  }

  /** Partial update: `doc` merge (with upsert / doc_as_upsert); scripts are not supported. */
  update(id: string, body: UpdateBody, cond: WriteConditions = {}): WriteResult {
    if (body.script !== undefined) throw err.unsupported('scripted update');
    const prev = this.docs.get(id);
    this.checkConditions(id, prev, cond);
    if (!prev) {
      const upsert = body.doc_as_upsert === true ? body.doc : body.upsert;
      if (upsert === undefined) throw err.documentMissing(this.name, this.uuid, id);
      return this.index(id, upsert, 'create');
    }
    if (!isObject(body.doc)) throw err.validation('script or doc is missing');
    const merged = deepMerge(prev.source, body.doc);
    if (body.detect_noop !== false && JSON.stringify(merged) === JSON.stringify(prev.source)) {
      return { ...this.result(id, prev.version, prev.seqNo, 'noop', 200), _shards: this.shards(0) };
    }
    return this.store(id, merged, prev);
  }

  private store(id: string, source: JsonObject, prev: StoredDoc | undefined): WriteResult {
    // Mapping validation first: a rejected doc must leave no trace.
    const values = this.mapping.index(id, source);
    const doc: StoredDoc = {
      id,
      source,
      version: (prev?.version ?? 0) + 1,
      seqNo: this.nextSeqNo++,
      ord: this.nextOrd++,
      values,
    };
    // Delete first so Map iteration order follows `ord` (updated docs move last).
    this.docs.delete(id);
    this.docs.set(id, doc);
    this.generation++;
    return prev
      ? this.result(id, doc.version, doc.seqNo, 'updated', 200)
      : this.result(id, doc.version, doc.seqNo, 'created', 201);
  }

  private checkConditions(id: string, prev: StoredDoc | undefined, cond: WriteConditions): void {
    if (cond.ifSeqNo === undefined && cond.ifPrimaryTerm === undefined) return;
    const required = `required seqNo [${cond.ifSeqNo ?? -2}], primary term [${cond.ifPrimaryTerm ?? 0}]`;
    if (!prev) throw err.versionConflict(this.name, this.uuid, id, `${required}. but no document was found`);
    if (prev.seqNo !== cond.ifSeqNo || PRIMARY_TERM !== cond.ifPrimaryTerm) {
      throw err.versionConflict(
        this.name,
        this.uuid,
        id,
        `${required}. current document has seqNo [${prev.seqNo}] and primary term [${PRIMARY_TERM}]`,
      );
    }
  }

  private result(id: string, version: number, seqNo: number, result: WriteOutcome, status: number): WriteResult {
    return {
      _index: this.name,
      _id: id,
      _version: version,
      result,
      _shards: this.shards(),
      _seq_no: seqNo,
      _primary_term: PRIMARY_TERM,
      status,
    };
  }

  /** GET /{index} and GET /{index}/_settings shape: nested, string-valued. */
  settingsJSON(): JsonObject {
    const root: JsonObject = {};
    for (const [key, value] of this.settings) {
      const parts = key.split('.');
      let node = root;
      for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as JsonObject;
      node[parts[parts.length - 1] ?? key] = value;
    }
    return root;
  }
}

/** Recursive object merge used by partial updates (arrays are replaced, like ES). */
function deepMerge(base: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    out[k] = isObject(cur) && isObject(v) ? deepMerge(cur, v) : v;
  }
  return out;
}

/** Flattens `{index: {number_of_shards: 1}}` / `{number_of_shards: 1}` to `index.number_of_shards → "1"`. */
export function flattenSettings(settings: unknown, into = new Map<string, string>()): Map<string, string> {
  if (settings === undefined) return into;
  if (!isObject(settings)) throw new EsError(400, 'settings_exception', 'Failed to load settings from [settings]');
  const walk = (obj: JsonObject, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (isObject(v)) walk(v, key);
      else if (v !== null) into.set(key.startsWith('index.') ? key : `index.${key}`, isArray(v) ? v.join(',') : String(v));
    }
  };
  walk(settings, '');
  return into;
}
