// The API media workers call. POST /bootstrap trades the single-use launch credential for the session token and the
// room token; every other route takes the session token, acts only for that session and generation, and is rate
// limited per session: session settings and fresh room tokens in; history, status and metrics out.
import { Hono } from 'hono';
import {
  appendHistorySchema,
  workerMetricsSchema,
  workerStatusSchema,
  type LiveKitJoin,
  type WorkerBootstrap,
  type WorkerSession,
} from '../contract.ts';
import type { Deps } from '../deps.ts';
import { batchBoundsFor, boundBatchWeight } from '../health/batch-weight.ts';
import { recordOutcomes } from '../health/scores.ts';
import { httpError } from '../http/errors.ts';
import type { AppEnv } from '../http/env.ts';
import { orUnavailable } from '../http/unavailable.ts';
import { readJson } from '../http/validate.ts';
import { requireBootstrapToken, requireWorkerToken } from '../http/worker-auth.ts';
import { mintAgentToken } from '../livekit/tokens.ts';
import { countLater } from '../observability/counters.ts';
import { recordTurnMetrics } from '../observability/turn-metrics.ts';
import { describeError, log } from '../observability/log.ts';
import type { SessionRecord } from '../sessions/record.ts';
import { appendHistory, consumeBootstrap, countWorkerCall, readHistory, updateSession } from '../sessions/store.ts';
import { applyWorkerStatus } from '../sessions/worker-status.ts';
import { loadWorkerSession, sessionEnded, superseded } from '../sessions/worker-session.ts';
import { mintWorkerToken, type WorkerClaims } from '../sessions/worker-token.ts';

/** Any call from a worker is a heartbeat (of its own generation only): the reconcile cron relaunches silent workers. */
function touch(deps: Deps, claims: WorkerClaims): void {
  deps.waitUntil(
    updateSession(deps.redis, claims.sessionId, { lastSeenAtMs: deps.nowMs() }, deps.config.sessionTtlSeconds, {
      generation: claims.generation,
    }).catch(() => undefined),
  );
}

/** One session's worker may call this often per minute; a Redis that cannot count lets the call through. */
async function checkWorkerRate(deps: Deps, claims: WorkerClaims): Promise<void> {
  let calls: number;
  try {
    calls = await countWorkerCall(deps.redis, claims.sessionId, deps.nowMs());
  } catch {
    return;
  }
  if (calls > deps.config.workerRateLimitPerMinute) {
    const retryAfter = Math.max(1, 60 - Math.floor((deps.nowMs() % 60_000) / 1000));
    countLater(deps, 'worker_calls_rate_limited_total', {});
    throw httpError(429, 'rate_limited', `more than ${deps.config.workerRateLimitPerMinute} calls this minute for this session`, {
      'retry-after': String(retryAfter),
    });
  }
}

async function sessionBody(deps: Deps, session: SessionRecord): Promise<WorkerSession> {
  const history = await orUnavailable('history', () => readHistory(deps.redis, session.id, deps.config.historyMaxMessages));
  return {
    sessionId: session.id,
    room: session.room,
    providers: session.providers,
    systemPrompt: session.systemPrompt,
    ...(session.greeting !== undefined ? { greeting: session.greeting } : {}),
    history,
  };
}

async function livekitJoin(deps: Deps, claims: WorkerClaims): Promise<LiveKitJoin> {
  return mintAgentToken(deps.config, claims, deps.nowMs());
}

/** Is Redis answering? Decides whether the bootstrap can be checked against state or must go on the token alone. */
async function burnBootstrap(deps: Deps, jti: string, ttlSeconds: number): Promise<'burnt' | 'reused' | 'unchecked'> {
  try {
    return (await consumeBootstrap(deps.redis, jti, ttlSeconds)) ? 'burnt' : 'reused';
  } catch (err) {
    log('warn', 'bootstrap_unchecked', { reason: describeError(err) });
    return 'unchecked';
  }
}

export const workerRoutes = new Hono<AppEnv>()
  .post('/bootstrap', requireBootstrapToken, async (c) => {
    const deps = c.var.deps;
    const claims = c.var.bootstrap;
    const ttl = claims.expSeconds - Math.floor(deps.nowMs() / 1000) + 60;
    const burnt = await burnBootstrap(deps, claims.jti, ttl);
    if (burnt === 'reused') {
      countLater(deps, 'worker_bootstraps_total', { result: 'reused' });
      throw httpError(401, 'unauthorized', 'this bootstrap credential was already used');
    }
    let session: WorkerSession;
    if (burnt === 'burnt') {
      session = await sessionBody(deps, await loadWorkerSession(deps, claims));
    } else {
      // Redis is down: the worker still gets its room and the configured prompt and greeting (a caller is waiting);
      // its session is checked (or adopted) on its first call once Redis answers again.
      session = {
        sessionId: claims.sessionId,
        room: claims.room,
        providers: deps.config.providerPriority,
        systemPrompt: deps.config.systemPrompt,
        ...(deps.config.greeting !== undefined ? { greeting: deps.config.greeting } : {}),
        history: [],
      };
    }
    const { ttlSeconds } = deps.config.workerToken;
    const body: WorkerBootstrap = {
      workerToken: await mintWorkerToken(claims, deps.config.workerToken.secret, ttlSeconds, deps.nowMs()),
      workerTokenExpiresAtMs: deps.nowMs() + ttlSeconds * 1000,
      livekit: await livekitJoin(deps, claims),
      session,
    };
    // Not a heartbeat: a worker that got this far has not joined its room yet.
    countLater(deps, 'worker_bootstraps_total', { result: burnt });
    return c.json(body);
  })
  .use(requireWorkerToken)
  .use(async (c, next) => {
    await checkWorkerRate(c.var.deps, c.var.worker);
    await next();
  })
  .get('/session', async (c) => {
    const { deps, worker } = c.var;
    const session = await loadWorkerSession(deps, worker);
    const body = await sessionBody(deps, session);
    touch(deps, worker);
    return c.json(body);
  })
  .get('/livekit-token', async (c) => {
    const { deps, worker } = c.var;
    await loadWorkerSession(deps, worker);
    touch(deps, worker);
    return c.json(await livekitJoin(deps, worker));
  })
  .post('/history', async (c) => {
    const { deps, worker } = c.var;
    const body = await readJson(c, appendHistorySchema);
    const session = await loadWorkerSession(deps, worker);
    const stored = await orUnavailable('history', () =>
      appendHistory(deps.redis, session.id, body.messages, deps.config.historyMaxMessages, deps.config.sessionTtlSeconds),
    );
    touch(deps, worker);
    return c.json({ ok: true, stored });
  })
  .post('/status', async (c) => {
    const { deps, worker } = c.var;
    const body = await readJson(c, workerStatusSchema);
    const session = await loadWorkerSession(deps, worker);
    const result = await orUnavailable('session state', () => applyWorkerStatus(deps, session, worker.generation, body));
    if (result === 'superseded') throw superseded();
    if (result === 'finished' || result === 'missing') throw sessionEnded();
    return c.json({ ok: true, status: body.status, applied: result === 'updated' });
  })
  .post('/metrics', async (c) => {
    const { deps, worker } = c.var;
    const body = await readJson(c, workerMetricsSchema);
    await loadWorkerSession(deps, worker);
    const policy = deps.config.healthPolicy;
    const { kept, dropped } = boundBatchWeight(body.outcomes, batchBoundsFor(policy.openAfterConsecutiveFailures));
    await orUnavailable('health scores', () => recordOutcomes(deps.redis, kept, deps.nowMs(), policy, worker.sessionId));
    if (dropped > 0) countLater(deps, 'worker_outcomes_over_batch_bound_total', {}, dropped);
    deps.waitUntil(recordTurnMetrics(deps, body));
    touch(deps, worker);
    return c.json({ ok: true, outcomes: kept.length, outcomesDropped: dropped, turns: body.turns.length });
  });
