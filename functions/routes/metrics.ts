// GET /metrics: Prometheus text for provider outcomes and latency, sessions, launches, webhooks and tokens.
import { Hono } from 'hono';
import type { AppEnv } from '../http/env.ts';
import { requireMetricsToken } from '../http/auth.ts';
import { orUnavailable } from '../http/unavailable.ts';
import { readHealth } from '../health/scores.ts';
import { authFailureCounts } from '../observability/auth-failures.ts';
import { renderExposition } from '../observability/exposition.ts';
import { toFieldMap } from '../redis/hash.ts';
import { keys } from '../redis/keys.ts';
import { countActiveSessions } from '../sessions/store.ts';

export const metricsRoutes = new Hono<AppEnv>().get('/', requireMetricsToken, async (c) => {
  const { redis, nowMs, config } = c.var.deps;
  const [counters, health, activeSessions] = await orUnavailable('metrics state', () =>
    Promise.all([
      redis.hgetall(keys.counters()).then(toFieldMap),
      readHealth(redis, nowMs(), config.healthPolicy),
      countActiveSessions(redis),
    ]),
  );
  return c.text(renderExposition({ counters: counters ?? {}, health, activeSessions, authFailures: authFailureCounts() }), 200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
  });
});
