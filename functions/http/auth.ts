// Bearer authentication for client applications (APP_API_KEYS) and for /metrics (METRICS_TOKEN).
import { createMiddleware } from 'hono/factory';
import { httpError } from './errors.ts';
import type { AppEnv } from './env.ts';
import { findMatchingSecret, sha256Hex } from './secrets.ts';

export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

const unauthorized = (message: string) =>
  httpError(401, 'unauthorized', message, { 'www-authenticate': 'Bearer realm="voice-agent"' });

export const requireAppKey = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('authorization'));
  if (!token) throw unauthorized('send an application API key as "Authorization: Bearer <key>"');
  const index = await findMatchingSecret(token, c.var.deps.config.appApiKeys);
  if (index < 0) throw unauthorized('the application API key is not valid');
  c.set('appKeyId', (await sha256Hex(token)).slice(0, 16));
  await next();
});

/** /metrics is open unless METRICS_TOKEN is set: scrapers on a private network often carry no credentials. */
export const requireMetricsToken = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.var.deps.config.metricsToken;
  if (expected !== undefined) {
    const token = bearerToken(c.req.header('authorization'));
    if (!token || (await findMatchingSecret(token, [expected])) < 0) throw unauthorized('a valid metrics token is required');
  }
  await next();
});
