// What the doctor reads from ROUTES_FILE: the fallback targets and queues each DID names.
// Read as plain JSON so that the checks see the names even when the router would refuse
// the file (the routes-file check says why).
import { readFileSync } from 'node:fs';

interface Override {
  fallback?: { context?: unknown; extension?: unknown };
  queue?: unknown;
}

export interface RouteNames {
  fallbacks: { did: string; context: string; extension: string }[];
  queues: { did: string; queue: string }[];
}

export function routeNames(path: string | undefined): RouteNames {
  const out: RouteNames = { fallbacks: [], queues: [] };
  if (!path) return out;
  let doc: { default?: Override; dids?: Record<string, Override> };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as typeof doc;
  } catch {
    return out;
  }
  const entries: [string, Override | undefined][] = [['default', doc.default], ...Object.entries(doc.dids ?? {})];
  for (const [did, o] of entries) {
    if (!o || typeof o !== 'object') continue;
    if (typeof o.fallback?.context === 'string') out.fallbacks.push({ did, context: o.fallback.context, extension: typeof o.fallback.extension === 'string' ? o.fallback.extension : 's' });
    if (typeof o.queue === 'string') out.queues.push({ did, queue: o.queue });
  }
  return out;
}
