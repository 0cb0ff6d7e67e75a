// GET /healthz: the process is alive and its event loop answers. Nothing else is
// checked, so an orchestrator restarts the router only when restarting can help.
import { json, type Route } from '../reply.js';

export const healthRoute = (): Route => () => json(200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
