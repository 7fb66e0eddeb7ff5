// GET /v1/providers: the health table and the ranking a new worker would get right now.
import { Hono } from 'hono';
import type { AppEnv } from '../http/env.ts';
import { requireOperatorKey } from '../http/auth.ts';
import { orUnavailable } from '../http/unavailable.ts';
import { rankAll } from '../health/ranking.ts';
import { readHealth } from '../health/scores.ts';

export const providerRoutes = new Hono<AppEnv>().get('/', requireOperatorKey, async (c) => {
  const { deps } = c.var;
  const health = await orUnavailable('health scores', () => readHealth(deps.redis, deps.nowMs(), deps.config.healthPolicy));
  const ranking = rankAll(deps.config.providerPriority, health, deps.config.healthPolicy);
  return c.json({ priority: deps.config.providerPriority, ranking, providers: health });
});
