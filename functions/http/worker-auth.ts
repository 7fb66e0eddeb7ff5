// Authentication for media workers: the per-session token minted at launch.
import { createMiddleware } from 'hono/factory';
import { verifyWorkerToken } from '../sessions/worker-token.ts';
import { bearerToken } from './auth.ts';
import { httpError } from './errors.ts';
import type { AppEnv } from './env.ts';

export const requireWorkerToken = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header('authorization'));
  if (!token) throw httpError(401, 'unauthorized', 'send the worker token as "Authorization: Bearer <WORKER_TOKEN>"');
  const claims = await verifyWorkerToken(token, c.var.deps.config.workerToken.secret);
  if (!claims) throw httpError(401, 'unauthorized', 'the worker token is invalid or expired');
  c.set('worker', claims);
  await next();
});
