// Builds the backfill from the configuration: ASTERISK_CDR_DB for CDRs,
// ASTERISK_QUEUE_LOG for queue abandons. Neither set: undefined (nothing to read).
import type { CountryCode } from 'libphonenumber-js';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import type { AmiFields } from '../from-ami.js';
import type { CdrDocument } from '../schema.js';
import { abandonId } from '../../abandon/record.js';
import type { AbandonEvent } from '../../abandon/sink.js';
import { scanQueueLogAbandons } from '../../abandon/backfill/queue-log-abandons.js';
import { CdrStore } from './cdr-store.js';
import { CdrBackfill, type WatermarkStore } from './cdr-backfill.js';
import { Backfill, type AmiLink, type BackfillMetrics } from './backfill.js';

export { Backfill } from './backfill.js';

export interface BackfillDeps {
  ami: AmiLink;
  meta: WatermarkStore;
  toDoc: (fields: AmiFields) => CdrDocument | undefined;
  ingest: (doc: CdrDocument) => 'new' | 'known' | 'refused';
  /** Abandon ids the router already has (journal, write buffer, this process). */
  knownAbandon: (id: string) => boolean;
  handleAbandon: (e: AbandonEvent) => Promise<unknown>;
  localWritesFailing: () => boolean;
  region: CountryCode | undefined;
  /** The queue name of the router's own queue_log lines (router-phase abandons). */
  ownQueue: string;
  metrics: BackfillMetrics;
  log: Logger;
}

type BackfillConfig = Pick<Config, 'ASTERISK_CDR_DB' | 'ASTERISK_CDR_TABLE' | 'ASTERISK_QUEUE_LOG' | 'BACKFILL_MAX_AGE' | 'BACKFILL_INTERVAL'>;

export function createBackfill(config: BackfillConfig, d: BackfillDeps): Backfill | undefined {
  if (!config.ASTERISK_CDR_DB && !config.ASTERISK_QUEUE_LOG) {
    d.log.warn('ASTERISK_CDR_DB and ASTERISK_QUEUE_LOG unset: CDRs and queue abandons Asterisk emits while AMI is away are not read back');
    return undefined;
  }
  const cdr = config.ASTERISK_CDR_DB
    ? new CdrBackfill({
        store: new CdrStore(config.ASTERISK_CDR_DB, config.ASTERISK_CDR_TABLE),
        meta: d.meta,
        toDoc: d.toDoc,
        ingest: d.ingest,
        maxAgeMs: config.BACKFILL_MAX_AGE,
        amiSince: () => (d.ami.connected ? d.ami.connectedAt : undefined),
        log: d.log,
      })
    : undefined;
  const path = config.ASTERISK_QUEUE_LOG;
  const abandons = path
    ? {
        path,
        scan: (gaps: Parameters<typeof scanQueueLogAbandons>[1]) => scanQueueLogAbandons(path, gaps, { region: d.region, ownQueues: [d.ownQueue] }),
        // A router-phase abandon of the same call was written by the router itself.
        known: (e: AbandonEvent) => d.knownAbandon(abandonId(e.uniqueid, 'queue')) || d.knownAbandon(abandonId(e.uniqueid, 'sticky_ring')),
        handle: d.handleAbandon,
      }
    : undefined;
  return new Backfill({ ami: d.ami, meta: d.meta, cdr, abandons, intervalMs: config.BACKFILL_INTERVAL, localWritesFailing: d.localWritesFailing, metrics: d.metrics, log: d.log });
}
