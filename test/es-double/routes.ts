// The endpoint table: which ES API each method + path maps to.

import * as cluster from './api-cluster.js';
import * as docs from './api-docs.js';
import * as indices from './api-indices.js';
import { bulk } from './bulk.js';
import { Router } from './router.js';
import * as search from './search.js';
import type { SearchDeps } from './search.js';

export function buildRouter(deps: SearchDeps): Router {
  const { store } = deps;
  return (
    new Router()
      .on('GET|HEAD', '/', () => cluster.info())
      .on('GET', '/_cluster/health', () => cluster.health(store, undefined))
      .on('GET', '/_cluster/health/:index', (_r, p) => cluster.health(store, p.index))
      // templates
      .on('PUT|POST', '/_index_template/:name', (r, p) => indices.putTemplate(store, r, p.name ?? ''))
      .on('GET', '/_index_template', () => indices.getTemplate(store, undefined, false))
      .on('GET', '/_index_template/:name', (_r, p) => indices.getTemplate(store, p.name, false))
      .on('HEAD', '/_index_template/:name', (_r, p) => indices.getTemplate(store, p.name, true))
      .on('DELETE', '/_index_template/:name', (_r, p) => indices.deleteTemplate(store, p.name ?? ''))
      // search family
      .on('GET|POST', '/_search', (r) => search.search(deps, undefined, r))
      .on('GET|POST', '/:index/_search', (r, p) => search.search(deps, p.index, r))
      .on('GET|POST', '/_search/scroll', (r) => search.scrollNext(deps, r, undefined))
      .on('GET|POST', '/_search/scroll/:id', (r, p) => search.scrollNext(deps, r, p.id))
      .on('DELETE', '/_search/scroll', (r) => search.clearScroll(deps, r, undefined))
      .on('DELETE', '/_search/scroll/:id', (r, p) => search.clearScroll(deps, r, p.id))
      .on('GET|POST', '/_count', (r) => search.count(deps, undefined, r))
      .on('GET|POST', '/:index/_count', (r, p) => search.count(deps, p.index, r))
      .on('POST', '/:index/_pit', (r, p) => search.openPit(deps, p.index ?? '', r))
      .on('DELETE', '/_pit', (r) => search.closePit(deps, r))
      // writes
      .on('POST|PUT', '/_bulk', (r) => bulk(store, r, undefined))
      .on('POST|PUT', '/:index/_bulk', (r, p) => bulk(store, r, p.index))
      .on('PUT|POST', '/:index/_doc/:id', (r, p) => docs.indexDoc(store, r, p.index ?? '', p.id, false))
      .on('POST', '/:index/_doc', (r, p) => docs.indexDoc(store, r, p.index ?? '', undefined, false))
      .on('PUT|POST', '/:index/_create/:id', (r, p) => docs.indexDoc(store, r, p.index ?? '', p.id, true))
      .on('POST', '/:index/_update/:id', (r, p) => docs.updateDoc(store, r, p.index ?? '', p.id ?? ''))
      .on('GET|HEAD', '/:index/_doc/:id', (r, p) => docs.getDoc(store, r, p.index ?? '', p.id ?? ''))
      .on('DELETE', '/:index/_doc/:id', (r, p) => docs.deleteDoc(store, r, p.index ?? '', p.id ?? ''))
      // indices
      .on('POST|GET', '/_refresh', (r) => indices.refresh(store, r, undefined))
      .on('POST|GET', '/:index/_refresh', (r, p) => indices.refresh(store, r, p.index))
      .on('GET', '/_mapping', (r) => indices.getMapping(store, r, undefined))
      .on('GET', '/:index/_mapping', (r, p) => indices.getMapping(store, r, p.index))
      .on('PUT|POST', '/:index/_mapping', (r, p) => indices.putMapping(store, r, p.index ?? ''))
      .on('PUT', '/:index', (r, p) => indices.createIndex(store, r, p.index ?? ''))
      .on('HEAD', '/:index', (r, p) => indices.indexExists(store, r, p.index ?? ''))
      .on('GET', '/:index', (r, p) => indices.getIndex(store, r, p.index ?? ''))
      .on('DELETE', '/:index', (r, p) => indices.deleteIndex(store, r, p.index ?? ''))
  );
}
