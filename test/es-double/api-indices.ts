// Index and template management APIs: create / exists / get / delete index,
// mappings, refresh, and composable index templates.

import { EsError } from './errors.js';
import { resolveIndices } from './index-expr.js';
import { boolParam, type EsRequest, type EsResponse } from './request.js';
import type { Store } from './store.js';
import { splitList, type JsonObject } from './util.js';

const ACK: EsResponse = { status: 200, body: { acknowledged: true } };

function opts(req: EsRequest, allowNoIndices: boolean): { ignoreUnavailable: boolean; allowNoIndices: boolean } {
  return {
    ignoreUnavailable: boolParam(req.qs, 'ignore_unavailable', false),
    allowNoIndices: boolParam(req.qs, 'allow_no_indices', allowNoIndices),
  };
}

export function createIndex(store: Store, req: EsRequest, name: string): EsResponse {
  store.createIndex(name, req.body);
  return { status: 200, body: { acknowledged: true, shards_acknowledged: true, index: name } };
}

export function indexExists(store: Store, req: EsRequest, expr: string): EsResponse {
  try {
    const found = resolveIndices(expr, store.indices.keys(), opts(req, false));
    return { status: found.length > 0 ? 200 : 404 };
  } catch {
    return { status: 404 };
  }
}

export function getIndex(store: Store, req: EsRequest, expr: string): EsResponse {
  const body: JsonObject = {};
  for (const idx of store.resolve(expr, opts(req, true))) {
    body[idx.name] = { aliases: {}, mappings: idx.mapping.toJSON(), settings: idx.settingsJSON() };
  }
  return { status: 200, body };
}

export function deleteIndex(store: Store, req: EsRequest, expr: string): EsResponse {
  store.deleteIndices(expr, boolParam(req.qs, 'ignore_unavailable', false));
  return ACK;
}

export function getMapping(store: Store, req: EsRequest, expr: string | undefined): EsResponse {
  const body: JsonObject = {};
  for (const idx of store.resolve(expr, opts(req, true))) body[idx.name] = { mappings: idx.mapping.toJSON() };
  return { status: 200, body };
}

export function putMapping(store: Store, req: EsRequest, expr: string): EsResponse {
  const indices = store.resolve(expr, opts(req, false));
  for (const idx of indices) {
    idx.mapping.merge(req.body);
    idx.generation++;
  }
  return ACK;
}

export function refresh(store: Store, req: EsRequest, expr: string | undefined): EsResponse {
  // Docs are searchable as soon as they are written, so refresh only validates targets.
  const n = store.resolve(expr, opts(req, true)).length;
  return { status: 200, body: { _shards: { total: n * 2, successful: n, failed: 0 } } };
}

export function putTemplate(store: Store, req: EsRequest, name: string): EsResponse {
  store.templates.put(name, req.body, boolParam(req.qs, 'create', false));
  return ACK;
}

export function getTemplate(store: Store, name: string | undefined, head: boolean): EsResponse {
  const found = store.templates.find(name);
  const concreteMissing = splitList(name).some((n) => !n.includes('*') && !found.some((t) => t.name === n));
  if (name !== undefined && (found.length === 0 || concreteMissing)) {
    if (head) return { status: 404 };
    throw new EsError(404, 'resource_not_found_exception', `index template matching [${name}] not found`);
  }
  if (head) return { status: 200 };
  return {
    status: 200,
    body: { index_templates: found.map((t) => ({ name: t.name, index_template: t.body })) },
  };
}

export function deleteTemplate(store: Store, name: string): EsResponse {
  store.templates.delete(name);
  return ACK;
}
