// Environment configuration, validated before anything connects. A bad value stops
// start-up with one line naming the variable, the value and what was expected.
import { IANAZone } from 'luxon';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { isIP } from 'node:net';
import { ConfigError, configErrorLine, isoDuration, positiveDuration, readEnv } from './env.js';
import { parsePbxRoutes } from './pbx/routes.js';

export { ConfigError };

const duration = positiveDuration;

const url = (what: string) =>
  z.string().refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, { message: `an http(s) URL ${what}`, abort: true });

// Zero allowed: PT0S turns the feature off.
const durationOrZero = (example: string) => isoDuration({ allowZero: true, expected: () => `an ISO-8601 duration, e.g. ${example} (PT0S turns it off)` });


const port = z.coerce.number({ error: 'an integer TCP port 1-65535' }).int('an integer TCP port 1-65535').min(1, 'an integer TCP port 1-65535').max(65535, 'an integer TCP port 1-65535');
const required = (what: string) => z.string({ error: `${what} (required)` }).min(1, `${what} (required)`);
// An IP literal or an RFC 1123 host name: a typo fails here, not as a DNS error later.
const host = z
  .string()
  .refine((v) => isIP(v) !== 0 || (!/^[\d.]+$/.test(v) && /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(v)), 'an IP address or a host name');
const name = z.string().regex(/^[A-Za-z0-9_+.-]+$/, 'letters, digits, _ + . or - only');
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));

const schema = z
  .object({
    // ari-client ignores a path prefix in the base URL, so refuse one rather than misroute.
    ARI_URL: url('such as http://127.0.0.1:8088')
      .refine((v) => new URL(v).pathname === '/', 'an ARI base URL without a path (ari-client ignores it), e.g. http://127.0.0.1:8088')
      .default('http://127.0.0.1:8088'),
    ARI_USERNAME: required('the ARI user from ari.conf'),
    ARI_PASSWORD: required('the ARI password from ari.conf'),
    ARI_APP: name.default('sticky-router'),
    AMI_HOST: host.default('127.0.0.1'),
    AMI_PORT: port.default(5038),
    AMI_USERNAME: required('the AMI user from manager.conf'),
    AMI_PASSWORD: required('the AMI secret from manager.conf'),
    ES_NODE: url('of an Elasticsearch 8.x node').optional(),
    ES_API_KEY: z.string().min(1, 'a non-empty API key').optional(),
    ES_USERNAME: z.string().min(1).optional(),
    ES_PASSWORD: z.string().min(1).optional(),
    ES_INDEX_PREFIX: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'a lowercase Elasticsearch index prefix').default('cdr'),
    STICKY_WINDOW: duration('PT30M').prefault('PT30M'),
    AGENT_RING_TIMEOUT: duration('PT20S').prefault('PT20S'),
    LOOKUP_TIMEOUT: duration('PT0.3S').prefault('PT0.3S'),
    FALLBACK_CONTEXT: name.default('ivr'),
    FALLBACK_EXTENSION: name.default('s'),
    DEFAULT_COUNTRY: z
      .string()
      .refine((v) => isSupportedCountry(v), 'a two-letter ISO 3166 region that libphonenumber knows, e.g. US or UA')
      .optional(),
    HTTP_HOST: host.default('127.0.0.1'),
    // 0 = any free port (tests, several routers on one host); the chosen port is logged.
    HTTP_PORT: z.coerce.number({ error: 'an integer TCP port 0-65535' }).int('an integer TCP port 0-65535').min(0, 'an integer TCP port 0-65535').max(65535, 'an integer TCP port 0-65535').default(8090),
    DATA_DIR: z.string().min(1, 'a directory path').default('./data'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_REDACT_NUMBERS: bool.default(false),
    // ECS lines sit beside the CDRs in Kibana; json is pino's plain shape.
    LOG_FORMAT: z.enum(['ecs', 'json']).default('ecs'),
    HTTP_TOKEN: z.string().min(16, 'a bearer token of at least 16 characters').optional(),
    // How an agent's channel name yields their extension: one capture group.
    AGENT_CHANNEL_PATTERN: z
      .string()
      .refine((v) => {
        try {
          return new RegExp(`${v}|`).exec('')!.length === 2;
        } catch {
          return false;
        }
      }, 'a regular expression with exactly one capture group, e.g. ^PJSIP/(\\d+)-[0-9a-f]+$')
      .default('^(?:PJSIP|Local)/(\\d+)(?:@[\\w-]+)?-[0-9a-f]+(?:;1)?$'),
    MIN_TALK_SECONDS: z.coerce.number({ error: 'a whole number of seconds >= 0' }).int('a whole number of seconds >= 0').min(0, 'a whole number of seconds >= 0').default(1),
    JOURNAL_RETENTION: duration('P7D').prefault('P7D'),
    // The PBX's zone (IANA). Not needed: Cdr times are read from epoch fields or the
    // offset is derived per event (src/cdr/pbx-time.ts); set it to override that.
    PBX_TIMEZONE: z.string().refine((v) => IANAZone.isValidZone(v), 'an IANA time zone such as America/New_York or Asia/Kolkata').optional(),
    // An abandon shorter than this is recorded (short: true) but notifies nobody; per DID in ROUTES_FILE.
    SHORT_ABANDON: durationOrZero('PT5S').prefault('PT5S'),
    // queue_log: the sticky ring as a queue at all (false: a site that reads no queue_log
    // saves three AMI actions per answered call); answered calls as CONNECT + COMPLETE….
    QUEUE_LOG_STICKY: bool.default(true),
    QUEUE_LOG_ANSWERED: bool.default(true),
    ROUTES_FILE: z.string().min(1, 'a path to a JSON file of per-DID settings').optional(),
    // Asterisk's own durable records, read for what AMI did not deliver (router down, AMI gap).
    ASTERISK_CDR_DB: z.string().min(1, 'a path to the cdr_sqlite3_custom database, e.g. /var/log/asterisk/sticky-cdr.db').optional(),
    ASTERISK_CDR_TABLE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an SQLite table name (cdr_sqlite3_custom.conf `table`)').default('sticky_cdr'),
    ASTERISK_QUEUE_LOG: z.string().min(1, 'a path to Asterisk\'s queue_log, e.g. /var/log/asterisk/queue_log').optional(),
    BACKFILL_MAX_AGE: duration('P1D').prefault('P1D'),
    BACKFILL_INTERVAL: duration('PT1M').prefault('PT1M'),
    // Several PBXs sharing one Elasticsearch (src/pbx): this PBX's name (default: Asterisk's
    // SystemName), dial string templates to the others' agents, and how long a
    // published agent state stays valid without its router renewing it.
    PBX_NAME: name.optional(),
    PBX_ROUTES: z
      .string()
      .superRefine((v, ctx) => {
        try {
          parsePbxRoutes(v);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `pbx=dial string pairs, e.g. pbx-a=PJSIP/\${agent}@pbx-a (${(err as Error).message})` });
        }
      })
      .optional(),
    AGENT_STATE_TTL: duration('PT30S').prefault('PT30S'),
    // Records held in memory while DATA_DIR cannot be written (disk full, read-only, locked).
    LOCAL_BUFFER_MAX: z.coerce.number({ error: 'a whole number >= 100' }).int('a whole number >= 100').min(100, 'a whole number >= 100').default(10000),
  })
  .superRefine((c, ctx) => {
    if ((c.ES_USERNAME === undefined) !== (c.ES_PASSWORD === undefined)) {
      ctx.addIssue({ code: 'custom', path: [c.ES_USERNAME ? 'ES_PASSWORD' : 'ES_USERNAME'], message: 'ES_USERNAME and ES_PASSWORD set together' });
    }
    if ((c.ES_API_KEY || c.ES_USERNAME) && !c.ES_NODE) {
      ctx.addIssue({ code: 'custom', path: [c.ES_API_KEY ? 'ES_API_KEY' : 'ES_USERNAME'], message: 'ES_NODE as well (credentials without a cluster)' });
    }
    if (c.ES_API_KEY && c.ES_USERNAME) {
      ctx.addIssue({ code: 'custom', path: ['ES_API_KEY'], message: 'either ES_API_KEY or ES_USERNAME/ES_PASSWORD, not both' });
    }
  });

export type RawConfig = z.output<typeof schema>;
export type Config = Omit<RawConfig, 'DEFAULT_COUNTRY'> & { DEFAULT_COUNTRY: CountryCode | undefined };
export const configNames = Object.keys(schema.shape) as (keyof RawConfig)[];

/**
 * `http://user:pass@host` in ARI_URL or ES_NODE: the credentials move to their own
 * variables (when those are unset) and leave the URL, so no log line or error
 * message that names the URL can carry a password.
 */
function moveUrlCredentials(input: Record<string, string>, urlKey: 'ARI_URL' | 'ES_NODE', userKey: string, passKey: string): void {
  const raw = input[urlKey];
  if (!raw) return;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return; // invalid: reported by the schema (shown without credentials: configErrorLine)
  }
  if (!u.username && !u.password) return;
  if (u.username && input[userKey] === undefined && !(urlKey === 'ES_NODE' && input.ES_API_KEY)) {
    input[userKey] = decodeURIComponent(u.username);
    if (u.password) input[passKey] = decodeURIComponent(u.password);
  }
  u.username = '';
  u.password = '';
  input[urlKey] = u.toString().replace(/\/$/, raw.endsWith('/') ? '/' : '');
}

/** Parses the environment; throws ConfigError with one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, only?: readonly (keyof RawConfig)[]): Config {
  const input = readEnv(env, configNames);
  moveUrlCredentials(input, 'ARI_URL', 'ARI_USERNAME', 'ARI_PASSWORD');
  moveUrlCredentials(input, 'ES_NODE', 'ES_USERNAME', 'ES_PASSWORD');
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues
      .filter((i) => !only || only.includes(String(i.path[0]) as keyof RawConfig))
      .map((i) => {
        const key = String(i.path[0] ?? '');
        return configErrorLine(key, input[key], i.message);
      });
    if (lines.length > 0) throw new ConfigError(lines.join('\n'));
    // Only variables the command does not need failed: parse them away.
    const relaxed: Record<string, string> = { ...input };
    for (const i of parsed.error.issues) delete relaxed[String(i.path[0])];
    for (const k of ['ARI_USERNAME', 'ARI_PASSWORD', 'AMI_USERNAME', 'AMI_PASSWORD']) relaxed[k] ??= 'unused';
    return schema.parse(relaxed) as Config;
  }
  return parsed.data as Config;
}
