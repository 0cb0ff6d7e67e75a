// Minimal path router: `:param` segments, where `:index` never matches an
// `_api` segment (index names cannot start with `_`), plus ES's 405 / 400
// answers for wrong methods and unknown endpoints.

import { EsError } from './errors.js';
import type { EsRequest, EsResponse } from './request.js';

export type Params = Readonly<Record<string, string>>;
export type Handler = (req: EsRequest, params: Params) => EsResponse;

interface Route {
  methods: string[];
  parts: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  /** `methods` is a `|`-separated list, e.g. `GET|POST`. */
  on(methods: string, pattern: string, handler: Handler): this {
    this.routes.push({ methods: methods.split('|'), parts: pattern.split('/').filter((p) => p.length > 0), handler });
    return this;
  }

  dispatch(req: EsRequest): EsResponse {
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const params = match(route.parts, req.segments);
      if (!params) continue;
      if (route.methods.includes(req.method)) return route.handler(req, params);
      route.methods.forEach((m) => allowed.add(m));
    }
    if (allowed.size > 0) {
      return {
        status: 405,
        body: { error: `Incorrect HTTP method for uri [${req.path}] and method [${req.method}], allowed: [${[...allowed].join(', ')}]`, status: 405 },
      };
    }
    throw new EsError(400, 'illegal_argument_exception', `no handler found for uri [${req.path}] and method [${req.method}]`);
  }
}

function match(parts: string[], segments: string[]): Params | undefined {
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] ?? '';
    const s = segments[i] ?? '';
    if (p.startsWith(':')) {
      if (p === ':index' && s.startsWith('_') && s !== '_all') return undefined;
      params[p.slice(1)] = s;
    } else if (p !== s) {
      return undefined;
    }
  }
  return params;
}
