// _bulk: NDJSON action/source pairs executed in order, with per-item status
// and errors (e.g. `create` on an existing id → 409 item, `errors: true`)
// exactly where real ES puts them; only malformed requests fail as a whole.

import { randomBytes } from 'node:crypto';
import { EsError, err } from './errors.js';
import type { WriteResult } from './index-state.js';
import { checkParams, type EsRequest, type EsResponse } from './request.js';
import type { Store } from './store.js';
import { isObject, type JsonObject } from './util.js';

type Action = 'index' | 'create' | 'delete' | 'update';
const ACTIONS: readonly string[] = ['index', 'create', 'delete', 'update'];
const META_KEYS = new Set([
  '_index', '_id', 'routing', 'if_seq_no', 'if_primary_term', 'version', 'version_type', 'pipeline',
  'require_alias', 'retry_on_conflict', 'dynamic_templates', '_source', 'require_data_stream', 'op_type',
]);

interface Op {
  action: Action;
  index: string;
  id: string | undefined;
  source: unknown;
  ifSeqNo?: number;
  ifPrimaryTerm?: number;
}

/** ES auto ids are 20 url-safe base64 characters. */
export function autoId(): string {
  return randomBytes(15).toString('base64url');
}

export function validateId(id: string): void {
  if (id.length === 0) throw err.validation('if _id is specified it must not be empty');
  if (Buffer.byteLength(id) > 512) {
    throw err.validation(`id [${id}] is too long, must be no longer than 512 bytes but was: ${Buffer.byteLength(id)}`);
  }
}

function parseOps(lines: unknown[], pathIndex: string | undefined): Op[] {
  const ops: Op[] = [];
  for (let i = 0; i < lines.length; ) {
    const lineNo = i + 1;
    const line = lines[i++];
    const action = isObject(line) ? Object.keys(line)[0] : undefined;
    if (!isObject(line) || action === undefined || Object.keys(line).length !== 1 || !ACTIONS.includes(action)) {
      throw err.illegalArgument(`Malformed action/metadata line [${lineNo}], expected one of [create, delete, index, update] but found [${action ?? 'nothing'}]`);
    }
    const meta = line[action];
    if (!isObject(meta)) throw err.illegalArgument(`Malformed action/metadata line [${lineNo}], expected START_OBJECT`);
    for (const k of Object.keys(meta)) {
      if (!META_KEYS.has(k)) throw err.illegalArgument(`Action/metadata line [${lineNo}] contains an unknown parameter [${k}]`);
    }
    if (meta.pipeline !== undefined) throw err.illegalArgument(`pipeline with id [${String(meta.pipeline)}] does not exist`);
    if (meta.version !== undefined || meta.version_type !== undefined) throw err.unsupported('external versioning');
    const index = typeof meta._index === 'string' ? meta._index : pathIndex;
    if (index === undefined) throw err.validation('index is missing');
    const id = meta._id === undefined || meta._id === null ? undefined : String(meta._id);
    if (id === undefined && (action === 'update' || action === 'delete')) throw err.validation('id is missing');
    let source: unknown;
    if (action !== 'delete') {
      if (i >= lines.length) throw err.illegalArgument(`The bulk request must be terminated by a newline [\\n]`);
      source = lines[i++];
    }
    const op: Op = { action: action as Action, index, id, source };
    if (typeof meta.if_seq_no === 'number') op.ifSeqNo = meta.if_seq_no;
    if (typeof meta.if_primary_term === 'number') op.ifPrimaryTerm = meta.if_primary_term;
    ops.push(op);
  }
  return ops;
}

function execute(store: Store, op: Op): WriteResult {
  const cond = { ifSeqNo: op.ifSeqNo, ifPrimaryTerm: op.ifPrimaryTerm };
  if (op.id !== undefined) validateId(op.id);
  const idx = store.autoCreate(op.index);
  switch (op.action) {
    case 'index':
      return idx.index(op.id ?? autoId(), op.source, 'index', cond);
    case 'create':
      return idx.index(op.id ?? autoId(), op.source, 'create', cond);
    case 'delete':
      return idx.delete(op.id ?? '', cond);
    case 'update':
      if (!isObject(op.source)) throw err.validation('script or doc is missing');
      return idx.update(op.id ?? '', op.source, cond);
  }
}

export function bulk(store: Store, req: EsRequest, pathIndex: string | undefined): EsResponse {
  const started = Date.now();
  checkParams(req, ['refresh', 'routing', 'timeout', 'wait_for_active_shards', 'require_alias', 'require_data_stream', '_source', '_source_includes', '_source_excludes', 'pipeline', 'list_executed_pipelines', 'include_source_on_error']);
  if (req.qs.has('pipeline')) throw err.illegalArgument(`pipeline with id [${req.qs.get('pipeline') ?? ''}] does not exist`);
  const lines = req.body;
  if (lines === undefined || (Array.isArray(lines) && lines.length === 0)) throw err.validation('no requests added');
  if (!Array.isArray(lines)) throw err.illegalArgument('Malformed action/metadata line [1]');
  if (!req.ndjsonTerminated) throw err.illegalArgument('The bulk request must be terminated by a newline [\\n]');
  const items: JsonObject[] = [];
  let errors = false;
  for (const op of parseOps(lines, pathIndex)) {
    try {
      items.push({ [op.action]: execute(store, op) });
    } catch (e) {
      if (!(e instanceof EsError)) throw e;
      errors = true;
      const idx = store.get(op.index);
      items.push({
        [op.action]: {
          _index: op.index,
          _id: op.id ?? null,
          status: e.status,
          error: { type: e.type, reason: e.reason, index_uuid: idx?.uuid ?? '_na_', shard: '0', index: op.index, ...e.meta },
        },
      });
    }
  }
  return { status: 200, body: { errors, took: Date.now() - started, items } };
}
