// Cluster-level endpoints: info (`GET /`) and health.

import type { EsResponse } from './request.js';
import type { Store } from './store.js';

export const CLUSTER_NAME = 'es-double';
const CLUSTER_UUID = 'es-double-cluster-uuid0';

export function info(): EsResponse {
  return {
    status: 200,
    body: {
      name: 'es-double-node',
      cluster_name: CLUSTER_NAME,
      cluster_uuid: CLUSTER_UUID,
      version: {
        number: '8.19.0',
        build_flavor: 'default',
        build_type: 'docker',
        build_hash: '0000000000000000000000000000000000000000',
        build_date: '2025-07-01T00:00:00.000000000Z',
        build_snapshot: false,
        lucene_version: '9.12.1',
        minimum_wire_compatibility_version: '7.17.0',
        minimum_index_compatibility_version: '7.0.0',
      },
      tagline: 'You Know, for Search',
    },
  };
}

export function health(store: Store, index: string | undefined): EsResponse {
  // One primary per index; replicas are reported as assigned so status is green.
  const shards = index === undefined ? store.indices.size : store.resolve(index, { ignoreUnavailable: false, allowNoIndices: true }).length;
  return {
    status: 200,
    body: {
      cluster_name: CLUSTER_NAME,
      status: 'green',
      timed_out: false,
      number_of_nodes: 1,
      number_of_data_nodes: 1,
      active_primary_shards: shards,
      active_shards: shards,
      relocating_shards: 0,
      initializing_shards: 0,
      unassigned_shards: 0,
      unassigned_primary_shards: 0,
      delayed_unassigned_shards: 0,
      number_of_pending_tasks: 0,
      number_of_in_flight_fetch: 0,
      task_max_waiting_in_queue_millis: 0,
      active_shards_percent_as_number: 100.0,
    },
  };
}
