// GET /v1/recalls[?within=P1D]: abandoned callers not yet reached, oldest first (the
// same list as `sticky-router recalls --json`, from the same injected function).
import { isoDurationMs } from '../../env.js';
import { json, type Route } from '../reply.js';

export const recallsPath = '/v1/recalls';

export const recallsRoute = (list: (withinMs: number) => object): Route => (req) => {
  const within = new URL(req.url ?? '/', 'http://x').searchParams.get('within') ?? 'P1D';
  const withinMs = isoDurationMs(within);
  if (withinMs === undefined) return json(400, { error: `within=${JSON.stringify(within.slice(0, 40))}: expected an ISO-8601 duration such as P1D or PT4H` });
  try {
    return json(200, list(withinMs));
  } catch (err) {
    return json(500, { error: `recall list failed: ${err instanceof Error ? err.message : String(err)}` });
  }
};
