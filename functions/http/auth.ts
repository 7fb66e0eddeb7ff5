// Bearer authentication. Client keys (APP_API_KEYS) mint tokens only, optionally for one room-name prefix; operator
// keys (OPERATOR_API_KEYS) also read sessions, the provider table and deep /health. /metrics has its own token.
import { createMiddleware } from 'hono/factory';
import type { ClientKey } from '../config.ts';
import { countAuthFailure } from '../observability/auth-failures.ts';
import { httpError } from './errors.ts';
import type { AppEnv } from './env.ts';
import { findMatchingSecret, sha256Hex } from './secrets.ts';

export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

const unauthorized = (message: string) =>
  httpError(401, 'unauthorized', message, { 'www-authenticate': 'Bearer realm="voice-agent"' });

export interface KeyIdentity {
  kind: 'client' | 'operator';
  /** Short digest of the key (never the key itself), for rate limits and logs. */
  id: string;
  roomPrefix: string | undefined;
}

/** Which key this is, compared in constant time against every configured key of both kinds. */
export async function identifyKey(token: string, clientKeys: readonly ClientKey[], operatorKeys: readonly string[]): Promise<KeyIdentity | null> {
  const [client, operator] = await Promise.all([
    findMatchingSecret(token, clientKeys.map((k) => k.key)),
    findMatchingSecret(token, operatorKeys),
  ]);
  if (client < 0 && operator < 0) return null;
  const id = (await sha256Hex(token)).slice(0, 16);
  if (operator >= 0) return { kind: 'operator', id, roomPrefix: undefined };
  return { kind: 'client', id, roomPrefix: clientKeys[client]?.roomPrefix };
}

/** POST /v1/token: any client or operator key. */
export const requireClientKey = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('authorization'));
  const { clientKeys, operatorKeys } = c.var.deps.config;
  const identity = token ? await identifyKey(token, clientKeys, operatorKeys) : null;
  if (!identity) {
    countAuthFailure('token');
    throw unauthorized(token ? 'the API key is not valid' : 'send an API key as "Authorization: Bearer <key>"');
  }
  c.set('appKeyId', identity.id);
  c.set('key', identity);
  await next();
});

/** Sessions, providers, deep health: an operator key; a valid client key gets 403 (it is known, just not enough). */
export const requireOperatorKey = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('authorization'));
  const { clientKeys, operatorKeys } = c.var.deps.config;
  const identity = token ? await identifyKey(token, clientKeys, operatorKeys) : null;
  if (!identity) {
    countAuthFailure('operator');
    throw unauthorized(token ? 'the API key is not valid' : 'send an operator key (OPERATOR_API_KEYS) as "Authorization: Bearer <key>"');
  }
  if (identity.kind !== 'operator') {
    countAuthFailure('operator');
    throw httpError(403, 'forbidden', 'this route needs an operator key (OPERATOR_API_KEYS); client keys only mint tokens');
  }
  c.set('appKeyId', identity.id);
  c.set('key', identity);
  await next();
});

/**
 * /metrics: open in development when METRICS_TOKEN is unset (a local scraper carries no credentials); anywhere else
 * it needs the token, and without one configured it stays shut rather than open.
 */
export const requireMetricsToken = createMiddleware<AppEnv>(async (c, next) => {
  const { metricsToken, environment } = c.var.deps.config;
  if (metricsToken === undefined) {
    if (environment !== 'development') {
      countAuthFailure('metrics');
      throw unauthorized('/metrics needs METRICS_TOKEN to be set outside development (ENVIRONMENT=development leaves it open)');
    }
  } else {
    const token = bearerToken(c.req.header('authorization'));
    if (!token || (await findMatchingSecret(token, [metricsToken])) < 0) {
      countAuthFailure('metrics');
      throw unauthorized('a valid metrics token is required');
    }
  }
  await next();
});
