// ES-shaped errors. Handlers throw EsError; the server turns it into the
// `{error: {root_cause, type, reason, ...}, status}` body real ES sends.

import type { JsonObject } from './util.js';

export interface ErrorCause extends JsonObject {
  type: string;
  reason: string;
}

export class EsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly reason: string,
    readonly meta: JsonObject = {},
    /** Replaces the default root_cause / caused_by (used for shard-failure wrapping). */
    readonly detail?: { rootCause: ErrorCause[]; causedBy?: ErrorCause; extra?: JsonObject },
  ) {
    super(`${type}: ${reason}`);
    this.name = 'EsError';
  }

  cause_(): ErrorCause {
    return { type: this.type, reason: this.reason, ...this.meta };
  }

  body(): JsonObject {
    const self = this.cause_();
    const error: JsonObject = {
      root_cause: this.detail?.rootCause ?? [self],
      ...self,
      ...(this.detail?.extra ?? {}),
    };
    if (this.detail?.causedBy) error.caused_by = this.detail.causedBy;
    return { error, status: this.status };
  }
}

/** Marker so test failures caused by the double's gaps are easy to recognise. */
const UNSUPPORTED = '[es-double]';

export const err = {
  indexNotFound: (index: string) =>
    new EsError(404, 'index_not_found_exception', `no such index [${index}]`, {
      'resource.type': 'index_or_alias',
      'resource.id': index,
      index_uuid: '_na_',
      index,
    }),
  alreadyExists: (index: string, uuid: string) =>
    new EsError(400, 'resource_already_exists_exception', `index [${index}/${uuid}] already exists`, {
      index_uuid: uuid,
      index,
    }),
  invalidIndexName: (index: string, why: string) =>
    new EsError(400, 'invalid_index_name_exception', `Invalid index name [${index}], ${why}`, {
      index_uuid: '_na_',
      index,
    }),
  versionConflict: (index: string, uuid: string, id: string, reason: string) =>
    new EsError(409, 'version_conflict_engine_exception', `[${id}]: version conflict, ${reason}`, {
      index_uuid: uuid,
      shard: '0',
      index,
    }),
  documentMissing: (index: string, uuid: string, id: string) =>
    new EsError(404, 'document_missing_exception', `[${id}]: document missing`, {
      index_uuid: uuid,
      shard: '0',
      index,
    }),
  parsing: (reason: string) => new EsError(400, 'parsing_exception', reason, { line: 1, col: 1 }),
  illegalArgument: (reason: string) => new EsError(400, 'illegal_argument_exception', reason),
  validation: (...problems: string[]) =>
    new EsError(
      400,
      'action_request_validation_exception',
      `Validation Failed: ${problems.map((p, i) => `${i + 1}: ${p};`).join('')}`,
    ),
  documentParsing: (reason: string) => new EsError(400, 'document_parsing_exception', `[1:1] ${reason}`),
  mapperParsing: (reason: string) => new EsError(400, 'mapper_parsing_exception', reason),
  searchContextMissing: (id: string) =>
    new EsError(404, 'search_context_missing_exception', `No search context found for id [${id}]`),
  unsupported: (what: string) =>
    new EsError(400, 'illegal_argument_exception', `${UNSUPPORTED} ${what} is not supported by the test double`),
  unsupportedQuery: (name: string) =>
    new EsError(400, 'parsing_exception', `${UNSUPPORTED} unknown query [${name}]: only bool, term, terms, range, exists, ids, match_all, match_none and constant_score are supported`, {
      line: 1,
      col: 1,
    }),
  /** Per-shard failures are wrapped by real ES in search_phase_execution_exception. */
  shardFailure: (cause: EsError, index: string) =>
    new EsError(cause.status, 'search_phase_execution_exception', 'all shards failed', {}, {
      rootCause: [cause.cause_()],
      causedBy: cause.cause_(),
      extra: {
        phase: 'query',
        grouped: true,
        failed_shards: [{ shard: 0, index, node: 'es-double-node', reason: cause.cause_() }],
      },
    }),
};
