// `sticky-router setup --kibana <url>`: imports docker/kibana/saved-objects.ndjson
// through Kibana's saved objects API (multipart upload, overwrite=true, so a
// re-run updates the same objects). Data view titles follow ES_INDEX_PREFIX.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { dataViewTitles, ids, recordingLinkFormat } from '../kibana/saved-objects.js';

export type KibanaAuth = { username: string; password: string } | { apiKey: string };

export interface ImportOptions {
  /** ES_INDEX_PREFIX: rewrites the CDR and abandon data view titles. Default `cdr` (the file as shipped). */
  indexPrefix?: string;
  /** Where the router's ECS logs land. Default `logs-sticky_router-*`. */
  logsPattern?: string;
  /** PUBLIC_URL: the base of the recording links on the CDR data view. */
  recordingsUrl?: string;
  /** Kibana space id; default space when unset. */
  space?: string;
  /** Default 30 s. */
  timeoutMs?: number;
}

export interface ImportedObject {
  type: string;
  id: string;
  title?: string;
}

export interface ImportResult {
  successCount: number;
  imported: ImportedObject[];
}

/** Kibana answered, but refused the upload or some objects in it; the message says which and why. */
export class KibanaImportError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

interface KibanaImportResponse {
  success?: boolean;
  successCount?: number;
  successResults?: { type: string; id: string; meta?: { title?: string } }[];
  errors?: { type: string; id: string; title?: string; meta?: { title?: string }; error?: { type?: string; reason?: string; references?: { type: string; id: string }[] } }[];
  message?: string;
  error?: string;
}

export async function importKibanaObjects(kibanaUrl: string, auth: KibanaAuth | undefined, file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const ndjson = retitle(await readFile(file, 'utf8'), opts);
  const url = importUrl(kibanaUrl, opts.space);
  // fetch refuses URLs with credentials in them: http://user:pass@kibana:5601 becomes Basic auth.
  const given = new URL(kibanaUrl);
  if (!auth && given.username) auth = { username: decodeURIComponent(given.username), password: decodeURIComponent(given.password) };
  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), basename(file));
  const headers: Record<string, string> = { 'kbn-xsrf': 'true' };
  if (auth && 'apiKey' in auth) headers.authorization = `ApiKey ${auth.apiKey}`;
  else if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;

  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: form, signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach Kibana at ${safeOrigin(url)}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  let body: KibanaImportResponse = {};
  try {
    body = JSON.parse(text) as KibanaImportResponse;
  } catch {
    // Not JSON: a proxy's page or the wrong port; reported below with the status.
  }
  if (res.status === 401 || res.status === 403) {
    throw new KibanaImportError(`Kibana at ${safeOrigin(url)} refused the credentials (HTTP ${res.status})${body.message ? `: ${body.message}` : ''}`, res.status);
  }
  if (!res.ok) {
    throw new KibanaImportError(`Kibana at ${safeOrigin(url)} answered HTTP ${res.status} to the import: ${body.message ?? (text.slice(0, 200) || res.statusText)}`, res.status);
  }
  if (body.success !== true) {
    const problems = (body.errors ?? []).map((e) => {
      const what = `${e.type} ${e.id}${e.meta?.title ?? e.title ? ` ("${e.meta?.title ?? e.title}")` : ''}`;
      const refs = e.error?.references?.map((r) => `${r.type} ${r.id}`).join(', ');
      return `${what}: ${e.error?.type ?? 'error'}${refs ? ` (missing ${refs})` : ''}${e.error?.reason ? ` ${e.error.reason}` : ''}`;
    });
    throw new KibanaImportError(`Kibana imported ${body.successCount ?? 0} objects and refused ${problems.length}:\n${problems.join('\n')}`, res.status);
  }
  return {
    successCount: body.successCount ?? 0,
    imported: (body.successResults ?? []).map((r) => ({ type: r.type, id: r.id, ...(r.meta?.title ? { title: r.meta.title } : {}) })),
  };
}

/** `<kibana>[/s/<space>]/api/saved_objects/_import?overwrite=true`, keeping a base path (e.g. https://host/kibana). */
export function importUrl(kibanaUrl: string, space?: string): string {
  const base = new URL(kibanaUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`the Kibana URL must be http(s): ${kibanaUrl}`);
  if (space !== undefined && !/^[a-z0-9_-]+$/.test(space)) throw new Error(`not a Kibana space id: ${JSON.stringify(space)}`);
  const path = `${base.pathname.replace(/\/+$/, '')}${space && space !== 'default' ? `/s/${space}` : ''}/api/saved_objects/_import`;
  const u = new URL(path, base.origin);
  u.searchParams.set('overwrite', 'true');
  return u.toString();
}

/** Points the shipped data views at the configured prefix and logs pattern; other lines pass unchanged. */
function retitle(ndjson: string, opts: ImportOptions): string {
  if (opts.indexPrefix === undefined && opts.logsPattern === undefined && opts.recordingsUrl === undefined) return ndjson;
  const titles = dataViewTitles(opts);
  const byId: Record<string, string> = { [ids.cdrView]: titles.cdr, [ids.abandonView]: titles.abandons, [ids.decisionView]: titles.decisions };
  return ndjson
    .split('\n')
    .map((line) => {
      if (line.trim() === '') return line;
      const o = JSON.parse(line) as { type?: string; id?: string; attributes?: { title?: string } };
      const title = o.type === 'index-pattern' && o.id ? byId[o.id] : undefined;
      if (!title || !o.attributes) return line;
      o.attributes.title = title;
      if (o.id === ids.cdrView && opts.recordingsUrl) {
        const attrs = o.attributes as { fieldFormatMap?: string };
        const formats = JSON.parse(attrs.fieldFormatMap ?? '{}') as Record<string, unknown>;
        formats['recording.file'] = recordingLinkFormat(opts.recordingsUrl);
        attrs.fieldFormatMap = JSON.stringify(formats);
      }
      return JSON.stringify(o);
    })
    .join('\n');
}

function safeOrigin(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}
