// Environment for call recordings, validated before anything connects. Separate
// from src/config.ts so that the recording settings stay in one place; errors use
// the same one-line format.
import { z } from 'zod';
import { ConfigError, configErrorLine, positiveDuration as duration, readEnv } from '../env.js';


const schema = z.object({
  /** on: the router asks the dialplan to record (per DID: ROUTES_FILE "record"), and serves the recordings. */
  RECORDINGS: z.enum(['on', 'off'], { error: 'on or off' }).default('off'),
  /** The router's view of the directory Asterisk writes to (dialplan global RECORDINGS_DIR): a mount or the chroot's path. */
  RECORDINGS_DIR: z.string().min(1, 'a directory path').default('/var/spool/asterisk/recordings'),
  /** Bearer token for the search API; HTTP_TOKEN is accepted too. */
  RECORDINGS_TOKEN: z.string().min(16, 'a bearer token of at least 16 characters').optional(),
  /** Fixed link secret (links survive a restart, work across instances); unset: a random one per start. */
  RECORDINGS_LINK_SECRET: z.string().min(32, 'a secret of at least 32 characters (e.g. openssl rand -hex 32)').optional(),
  RECORDING_LINK_TTL: duration('PT15M').prefault('PT15M'),
  /** Delete recordings older than this and mark their CDRs; unset keeps them. */
  RECORDINGS_RETENTION: duration('P90D').optional(),
  /** The base of the links handed out, as browsers reach the router (e.g. the HTTPS proxy); default the HTTP listener's. */
  PUBLIC_URL: z
    .string()
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.search === '' && u.hash === '';
      } catch {
        return false;
      }
    }, 'an http(s) base URL without query, e.g. https://pbx.example.com/recordings')
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
});

export type RecordingsConfig = z.output<typeof schema>;
export const recordingsConfigNames = Object.keys(schema.shape) as (keyof RecordingsConfig)[];

export function loadRecordingsConfig(env: NodeJS.ProcessEnv = process.env): RecordingsConfig {
  const input = readEnv(env, recordingsConfigNames);
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => configErrorLine(String(i.path[0] ?? ''), input[String(i.path[0] ?? '')], i.message)).join('\n'));
  const c = parsed.data;
  // Recordings are personal data: never searchable without a token.
  if (c.RECORDINGS === 'on' && !c.RECORDINGS_TOKEN && !env.HTTP_TOKEN) {
    throw new ConfigError('config: RECORDINGS=on is invalid: expected RECORDINGS_TOKEN or HTTP_TOKEN as well (the search API hands out links to recordings)');
  }
  return c;
}
