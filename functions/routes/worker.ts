// The API media workers call, each with the token minted for its session: session settings in; history, status
// and metrics out.
import { Hono } from 'hono';
import { appendHistorySchema, workerMetricsSchema, workerStatusSchema, type WorkerSession } from '../contract.ts';
import type { Deps } from '../deps.ts';
import { recordOutcomes } from '../health/scores.ts';
import { httpError } from '../http/errors.ts';
import type { AppEnv, WorkerIdentity } from '../http/env.ts';
import { orUnavailable } from '../http/unavailable.ts';
import { readJson } from '../http/validate.ts';
import { requireWorkerToken } from '../http/worker-auth.ts';
import { recordTurnMetrics } from '../observability/turn-metrics.ts';
import { appendHistory, getSession, readHistory, updateSession } from '../sessions/store.ts';
import { applyWorkerStatus } from '../sessions/worker-status.ts';
import type { SessionRecord } from '../sessions/record.ts';

async function loadOwnSession(deps: Deps, worker: WorkerIdentity): Promise<SessionRecord> {
  const session = await orUnavailable('session state', () => getSession(deps.redis, worker.sessionId));
  if (!session || session.room !== worker.room) throw httpError(404, 'session_not_found', 'no session for this worker token');
  return session;
}

/** Any call from a worker is a heartbeat: the reconcile cron relaunches workers that fall silent. */
function touch(deps: Deps, sessionId: string): void {
  const now = deps.nowMs();
  deps.waitUntil(
    updateSession(deps.redis, sessionId, { lastSeenAtMs: now }, deps.config.sessionTtlSeconds).catch(() => undefined),
  );
}

export const workerRoutes = new Hono<AppEnv>()
  .use(requireWorkerToken)
  .get('/session', async (c) => {
    const { deps, worker } = c.var;
    const session = await loadOwnSession(deps, worker);
    const history = await orUnavailable('history', () => readHistory(deps.redis, session.id, deps.config.historyMaxMessages));
    touch(deps, session.id);
    const body: WorkerSession = {
      sessionId: session.id,
      room: session.room,
      providers: session.providers,
      systemPrompt: session.systemPrompt,
      ...(session.greeting !== undefined ? { greeting: session.greeting } : {}),
      history,
    };
    return c.json(body);
  })
  .post('/history', async (c) => {
    const { deps, worker } = c.var;
    const body = await readJson(c, appendHistorySchema);
    const session = await loadOwnSession(deps, worker);
    const stored = await orUnavailable('history', () =>
      appendHistory(deps.redis, session.id, body.messages, deps.config.historyMaxMessages, deps.config.sessionTtlSeconds),
    );
    touch(deps, session.id);
    return c.json({ ok: true, stored });
  })
  .post('/status', async (c) => {
    const { deps, worker } = c.var;
    const body = await readJson(c, workerStatusSchema);
    const session = await loadOwnSession(deps, worker);
    const result = await orUnavailable('session state', () => applyWorkerStatus(deps, session, body));
    if (result === 'finished') {
      throw httpError(409, 'session_ended', 'this session has ended; the worker should leave the room');
    }
    return c.json({ ok: true, status: body.status });
  })
  .post('/metrics', async (c) => {
    const { deps, worker } = c.var;
    const body = await readJson(c, workerMetricsSchema);
    await loadOwnSession(deps, worker);
    await orUnavailable('health scores', () => recordOutcomes(deps.redis, body.outcomes, deps.nowMs(), deps.config.healthPolicy));
    deps.waitUntil(recordTurnMetrics(deps, body));
    touch(deps, worker.sessionId);
    return c.json({ ok: true, outcomes: body.outcomes.length, turns: body.turns.length });
  });
