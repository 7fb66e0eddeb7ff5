// GET …/models, the model list every one of these APIs has: the cheapest authenticated request a vendor answers,
// which the worker sends at session start to open a pooled connection (worker/providers/warm.ts). Route name 'models'.
import type { OutgoingHttpHeaders } from 'node:http';
import type { HttpRoute } from './server.ts';
import { sendBody } from './stream.ts';

export const MODELS_ROUTE = 'models';

export function modelsRoute(path: string, body: () => unknown, headers: () => OutgoingHttpHeaders = () => ({})): HttpRoute {
  return {
    name: MODELS_ROUTE,
    method: 'GET',
    path,
    handle: (ctx) => sendBody(ctx, 200, { ...headers(), 'content-type': 'application/json' }, JSON.stringify(body())),
  };
}
