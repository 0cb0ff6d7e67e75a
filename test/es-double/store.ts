// Cluster state: indices and templates, plus index lifecycle (create with
// templates applied, auto-create on write, delete).

import { err } from './errors.js';
import { flattenSettings, IndexState } from './index-state.js';
import { resolveIndices, type ResolveOptions } from './index-expr.js';
import { Mapping } from './mapping.js';
import { Templates } from './templates.js';
import { isObject, splitList } from './util.js';

const INVALID_CHARS = ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':'];

export class Store {
  readonly indices = new Map<string, IndexState>();
  readonly templates = new Templates();

  constructor(private readonly opts: { allowWildcardDelete: boolean }) {}

  get(name: string): IndexState | undefined {
    return this.indices.get(name);
  }

  /** A single concrete index (document APIs); 404 like ES when missing. */
  require(name: string): IndexState {
    const idx = this.indices.get(name);
    if (!idx) throw err.indexNotFound(name);
    return idx;
  }

  resolve(expr: string | undefined, opts: ResolveOptions): IndexState[] {
    return resolveIndices(expr, this.indices.keys(), opts).map((n) => this.require(n));
  }

  createIndex(name: string, body: unknown): IndexState {
    validateIndexName(name);
    const existing = this.indices.get(name);
    if (existing) throw err.alreadyExists(name, existing.uuid);
    const req = body === undefined ? {} : body;
    if (!isObject(req)) throw err.parsing('request body must be an object');
    for (const key of Object.keys(req)) {
      if (key === 'aliases' && isObject(req.aliases) && Object.keys(req.aliases).length === 0) continue;
      if (key === 'aliases') throw err.unsupported('index aliases');
      if (key !== 'settings' && key !== 'mappings') throw err.parsing(`unknown key [${key}] for create index`);
    }
    const template = this.templates.forIndex(name);
    const settings = new Map<string, string>([
      ['index.number_of_shards', '1'],
      ['index.number_of_replicas', '1'],
    ]);
    flattenSettings(template?.settings, settings);
    flattenSettings(req.settings, settings);
    settings.set('index.provided_name', name);
    const mapping = new Mapping();
    mapping.merge(template?.mappings);
    mapping.merge(req.mappings);
    const idx = new IndexState(name, mapping, settings);
    settings.set('index.uuid', idx.uuid);
    settings.set('index.creation_date', String(idx.createdAt));
    this.indices.set(name, idx);
    return idx;
  }

  /** Write APIs create missing indices (action.auto_create_index defaults to true). */
  autoCreate(name: string): IndexState {
    return this.indices.get(name) ?? this.createIndex(name, undefined);
  }

  /** DELETE /{index}: ES 8 defaults to action.destructive_requires_name=true. */
  deleteIndices(expr: string, ignoreUnavailable: boolean): void {
    const parts = splitList(expr);
    if (!this.opts.allowWildcardDelete && parts.some((p) => p.includes('*') || p === '_all')) {
      throw err.illegalArgument('Wildcard expressions or all indices are not allowed');
    }
    const names = resolveIndices(expr, this.indices.keys(), { ignoreUnavailable, allowNoIndices: true });
    for (const n of names) this.indices.delete(n);
  }

  reset(): void {
    this.indices.clear();
    this.templates.clear();
  }
}

export function validateIndexName(name: string): void {
  if (name !== name.toLowerCase()) throw err.invalidIndexName(name, 'must be lowercase');
  const bad = INVALID_CHARS.filter((c) => name.includes(c));
  if (bad.length > 0) {
    throw err.invalidIndexName(name, `must not contain the following characters [${INVALID_CHARS.map((c) => `'${c}'`).join(',')}]`);
  }
  if (/^[_\-+]/.test(name)) throw err.invalidIndexName(name, "must not start with '_', '-', or '+'");
  if (name === '.' || name === '..') throw err.invalidIndexName(name, "must not be '.' or '..'");
  if (Buffer.byteLength(name) > 255) throw err.invalidIndexName(name, 'index name is too long, (' + Buffer.byteLength(name) + ' > 255)');
}
