// The control plane's HTTP surface: /v1 for clients, LiveKit and workers; /health and /metrics at the root.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { httpError } from './http/errors.ts';
import { ConfigError, configFrom } from './config.ts';
import { buildDeps } from './deps.ts';
import type { AppEnv } from './http/env.ts';
import { describeError, log } from './observability/log.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { pageRoutes, pageTokenRoutes } from './routes/page.ts';
import { providerRoutes } from './routes/providers.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { tokenRoutes } from './routes/token.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { workerRoutes } from './routes/worker.ts';

function waitUntilOf(c: { executionCtx: { waitUntil(p: Promise<unknown>): void } }): (p: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    // app.request() in unit tests has no execution context: run the work, keep its errors out of the response.
    return (p) => void p.catch(() => undefined);
  }
}

export const MAX_BODY_BYTES = 64 * 1024;

export function createApp(): Hono<AppEnv> {
  const v1 = new Hono<AppEnv>()
    .route('/token', tokenRoutes)
    .route('/webhooks', webhookRoutes)
    .route('/worker', workerRoutes)
    .route('/providers', providerRoutes)
    .route('/sessions', sessionRoutes)
    .route('/page', pageTokenRoutes);

  const app = new Hono<AppEnv>();
  // Every route's body is bounded (the webhook route keeps its own, equal bound): nobody streams megabytes at us.
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw httpError(413, 'body_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  app.use(async (c, next) => {
    c.set('deps', buildDeps(configFrom(c.env ?? {}), waitUntilOf(c)));
    await next();
  });
  app.route('/v1', v1);
  app.route('/health', healthRoutes);
  app.route('/metrics', metricsRoutes);
  // The talk page (off unless TALK_PAGE=on).
  app.route('/', pageRoutes);
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } }, 404));
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    if (err instanceof ConfigError) {
      log('error', 'config_invalid', { variables: err.variables.join(',') });
      return c.json({ error: { code: 'config_invalid', message: err.message } }, 500);
    }
    log('error', 'unhandled_error', { path: c.req.path, reason: describeError(err) });
    return c.json({ error: { code: 'internal_error', message: 'internal error' } }, 500);
  });
  return app;
}
