// Single-document APIs: index/create (PUT|POST _doc, _create), get, exists,
// delete and partial update.

import { autoId, validateId } from './bulk.js';
import { err } from './errors.js';
import type { WriteConditions, WriteResult } from './index-state.js';
import { checkParams, intParam, type EsRequest, type EsResponse } from './request.js';
import { filterSource, parseSourceSpec } from './source-filter.js';
import type { Store } from './store.js';
import { isObject } from './util.js';

const WRITE_PARAMS = ['refresh', 'routing', 'timeout', 'wait_for_active_shards', 'require_alias', 'op_type', 'if_seq_no', 'if_primary_term', 'pipeline', 'version', 'version_type', 'require_data_stream', 'include_source_on_error'];

function conditions(req: EsRequest): WriteConditions {
  const cond: WriteConditions = {};
  const seq = intParam(req.qs, 'if_seq_no');
  const term = intParam(req.qs, 'if_primary_term');
  if (seq !== undefined) cond.ifSeqNo = seq;
  if (term !== undefined) cond.ifPrimaryTerm = term;
  return cond;
}

/** Single-doc write responses are the bulk item minus `status`, which becomes the HTTP status. */
function writeResponse(r: WriteResult): EsResponse {
  const { status, ...body } = r;
  return { status, body };
}

export function indexDoc(store: Store, req: EsRequest, index: string, id: string | undefined, forceCreate: boolean): EsResponse {
  checkParams(req, WRITE_PARAMS);
  if (req.qs.has('pipeline')) throw err.illegalArgument(`pipeline with id [${req.qs.get('pipeline') ?? ''}] does not exist`);
  if (req.qs.has('version') || req.qs.has('version_type')) throw err.unsupported('external versioning');
  const opType = req.qs.get('op_type') ?? (forceCreate ? 'create' : 'index');
  if (opType !== 'create' && opType !== 'index') throw err.illegalArgument(`opType must be 'create' or 'index', found: [${opType}]`);
  if (id !== undefined) validateId(id);
  if (req.body === undefined) throw err.validation('source is missing', 'content type is missing');
  const idx = store.autoCreate(index);
  return writeResponse(idx.index(id ?? autoId(), req.body, opType, conditions(req)));
}

export function getDoc(store: Store, req: EsRequest, index: string, id: string): EsResponse {
  const idx = store.require(index);
  const doc = idx.get(id);
  if (!doc) return { status: 404, body: { _index: index, _id: id, found: false } };
  const spec = parseSourceSpec(undefined, req.qs);
  const body: Record<string, unknown> = {
    _index: index,
    _id: id,
    _version: doc.version,
    _seq_no: doc.seqNo,
    _primary_term: 1,
    found: true,
  };
  if (spec.enabled) body._source = filterSource(doc.source, spec);
  return { status: 200, body };
}

export function deleteDoc(store: Store, req: EsRequest, index: string, id: string): EsResponse {
  checkParams(req, WRITE_PARAMS);
  // Deletes go through the bulk path in ES, which auto-creates the index.
  return writeResponse(store.autoCreate(index).delete(id, conditions(req)));
}

export function updateDoc(store: Store, req: EsRequest, index: string, id: string): EsResponse {
  checkParams(req, [...WRITE_PARAMS, 'retry_on_conflict', 'lang', '_source', '_source_includes', '_source_excludes']);
  if (!isObject(req.body)) throw err.validation('script or doc is missing');
  return writeResponse(store.autoCreate(index).update(id, req.body, conditions(req)));
}
