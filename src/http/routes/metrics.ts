// GET /metrics: the Prometheus text exposition of the router's own registry.
import type { Route } from '../reply.js';

export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

export const metricsRoute = (metrics: MetricsSource): Route => async () => ({
  status: 200,
  headers: { 'content-type': metrics.contentType },
  body: await metrics.render(),
});
