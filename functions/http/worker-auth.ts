// Authentication for media workers: the single-use bootstrap credential of the launch (POST /v1/worker/bootstrap
// only) and the session token it is exchanged for (every other worker route). Failures are counted in memory only.
import { createMiddleware } from 'hono/factory';
import { countAuthFailure } from '../observability/auth-failures.ts';
import { verifyBootstrapToken, verifyWorkerToken } from '../sessions/worker-token.ts';
import { bearerToken } from './auth.ts';
import { httpError } from './errors.ts';
import type { AppEnv } from './env.ts';

export const requireWorkerToken = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('authorization'));
  const claims = token ? await verifyWorkerToken(token, c.var.deps.config.workerToken.secret) : null;
  if (!claims) {
    countAuthFailure('worker');
    throw httpError(401, 'unauthorized', token ? 'the worker token is invalid or expired' : 'send the worker token as "Authorization: Bearer <token>"');
  }
  c.set('worker', claims);
  await next();
});

export const requireBootstrapToken = createMiddleware<AppEnv>(async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    const claims = token ? await verifyBootstrapToken(token, c.var.deps.config.workerToken.secret) : null;
    if (!claims) {
      countAuthFailure('worker_bootstrap');
      throw httpError(401, 'unauthorized', 'the bootstrap credential is invalid or expired (WORKER_BOOTSTRAP_TOKEN)');
    }
    c.set('bootstrap', claims);
    await next();
});
