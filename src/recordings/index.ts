// Call recordings, wired: the dialplan records (dialplan/sticky-router.conf), the
// CDR pipeline attaches the file (attach.ts), the HTTP server searches and serves
// through signed links (links.ts, signer.ts, store.ts), retention deletes old files
// and marks their CDRs (retention.ts). The app only calls what this returns.
import type { Client } from '@elastic/elasticsearch';
import type { CountryCode } from 'libphonenumber-js';
import { DateTime } from 'luxon';
import type { Journal } from '../cdr/journal.js';
import type { CdrDocument } from '../cdr/schema.js';
import type { ExtraRoute } from '../http/server.js';
import { checkRecordingsAccess } from '../http/auth.js';
import { mediaRoute } from '../http/routes/media.js';
import { playPath, playRoute, recordingsPath, recordingsRoute } from '../http/routes/recordings.js';
import type { Logger } from '../log.js';
import type { DidPolicy } from '../routing/did-policy.js';
import { attachRecording } from './attach.js';
import type { RecordingsConfig } from './config.js';
import { mediaPrefix, RecordingLinks } from './links.js';
import { markDeletedInElasticsearch, markDeletedInJournal } from './mark-deleted.js';
import { sweepRecordings } from './retention.js';
import { ElasticsearchRecordings, JournalRecordings } from './search.js';
import { LinkSigner } from './signer.js';
import { RecordingStore } from './store.js';

export interface RecordingsDeps {
  config: RecordingsConfig;
  /** HTTP_TOKEN: accepted wherever RECORDINGS_TOKEN is. */
  httpToken?: string;
  journal: Journal;
  es?: { client: Client; prefix: string };
  region?: CountryCode;
  clock: () => DateTime;
  log: Logger;
}

export interface Recordings {
  readonly enabled: boolean;
  /** Whether the dialplan records a call of this DID. */
  shouldRecord(policy: DidPolicy): boolean;
  /** Adds `recording` to a CDR whose event names a file. */
  attach(doc: CdrDocument, event: Record<string, string | undefined>): void;
  /** The HTTP endpoints; `listenerUrl` is the server's own URL once it listens. */
  routes(listenerUrl: () => string): ExtraRoute[];
  /** One retention sweep (also run hourly by start()). */
  sweep(): Promise<{ deleted: number; kept: number }>;
  start(): void;
  stop(): void;
}

export function createRecordings(d: RecordingsDeps): Recordings {
  const c = d.config;
  const enabled = c.RECORDINGS === 'on';
  const store = new RecordingStore(c.RECORDINGS_DIR);
  const signer = new LinkSigner(c.RECORDINGS_LINK_SECRET);
  const tokens = [c.RECORDINGS_TOKEN, d.httpToken].filter((t): t is string => !!t);
  const index = d.es ? new ElasticsearchRecordings(d.es.client, d.es.prefix) : new JournalRecordings(d.journal, d.clock);
  let timer: NodeJS.Timeout | undefined;

  const sweep = async () => {
    if (!c.RECORDINGS_RETENTION) return { deleted: 0, kept: 0 };
    const now = d.clock();
    const r = await sweepRecordings({
      dir: c.RECORDINGS_DIR,
      olderThan: now.minus({ milliseconds: c.RECORDINGS_RETENTION }),
      now,
      log: d.log,
      markDeleted: async (files, at) => {
        const inJournal = markDeletedInJournal(d.journal, files, at);
        const inEs = d.es ? await markDeletedInElasticsearch(d.es.client, d.es.prefix, files, at) : 0;
        d.log.info({ files: files.length, cdrsMarked: { journal: inJournal, elasticsearch: inEs } }, 'recordings deleted by retention');
      },
    });
    return r;
  };

  return {
    enabled,
    shouldRecord: (policy) => enabled && policy.record !== false,
    attach: (doc, event) => attachRecording(doc, event, store, d.log),
    routes(listenerUrl) {
      if (!enabled) return [];
      const links = new RecordingLinks({ index, signer, ttlMs: c.RECORDING_LINK_TTL, baseUrl: () => c.PUBLIC_URL ?? listenerUrl(), clock: d.clock });
      return [
        { match: (p) => p === playPath, route: playRoute({ links, store }), auth: (req) => checkRecordingsAccess(req.headers, tokens, true), describe: `${playPath}?file=<path>` },
        { match: (p) => p === recordingsPath, route: recordingsRoute({ links, region: d.region, timeoutMs: 5000 }), auth: (req) => checkRecordingsAccess(req.headers, tokens, false), describe: `${recordingsPath}?number=<E.164>` },
        { match: (p) => p.startsWith(mediaPrefix) && p.length > mediaPrefix.length, route: mediaRoute({ signer, store, clock: d.clock, log: d.log }), auth: 'open', describe: `${mediaPrefix}<signed token>` },
      ];
    },
    sweep,
    start() {
      if (!enabled || !c.RECORDINGS_RETENTION) return;
      const run = () =>
        void sweep().then(
          (r) => r.deleted > 0 && d.log.info(r, 'retention sweep'),
          (err: Error) => d.log.warn({ err: err.message }, 'recordings retention sweep failed'),
        );
      run();
      timer = setInterval(run, 3600_000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
