// Starting the worker for a session: a few quick attempts with backoff right after the webhook, then the reconcile
// cron takes over. Every attempt's outcome is written to the session, so the launch state is always visible.
import { WORKER_ENV, type ProviderOrder } from '../contract.ts';
import type { Deps } from '../deps.ts';
import { LaunchError } from '../launchers/types.ts';
import { countLater } from '../observability/counters.ts';
import { describeError, log } from '../observability/log.ts';
import { TERMINAL_STATUSES, type SessionRecord } from './record.ts';
import { markInactive, releaseRoom, updateSession } from './store.ts';
import { mintBootstrapToken } from './worker-token.ts';

const ATTEMPT_TIMEOUT_MS = 10_000;
const IMMEDIATE_ATTEMPTS = 3;
const BASE_BACKOFF_MS = 250;

export interface LaunchTarget {
  sessionId: string;
  room: string;
  roomKey: string;
  providers: ProviderOrder;
  /** Bumped for every fresh worker of the same room: retries of one generation share an idempotency key. */
  generation: number;
  /** Redis was down at open: no record, no claim (the functions adopt the session when the worker calls later). */
  stateless?: boolean;
}

const MAX_BACKOFF_MS = 5 * 60_000;

/** Doubling from 250 ms, capped at five minutes: quick retries first, then the cron spaces them out. */
export function backoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
}

/**
 * The launcher's idempotency key: one per session generation, so a rejoin after a session ended (a new session for
 * the same room incarnation) gets a new worker. Without state there is no session to key on: the room incarnation is
 * then the key, and every redelivery of its webhooks maps to the one stateless worker.
 */
export function idempotencyKeyOf(t: LaunchTarget): string {
  return t.stateless ? `${t.roomKey}:stateless` : `${t.sessionId}:${t.generation}`;
}

async function buildEnv(deps: Deps, t: LaunchTarget): Promise<Record<string, string>> {
  // Only a single-use bootstrap credential travels in the launch (ECS shows overrides to anyone who may describe the
  // task): it expires within the join timeout, and the worker trades it for its session token and its room token.
  const bootstrap = await mintBootstrapToken(
    { sessionId: t.sessionId, room: t.room, roomKey: t.roomKey, generation: t.generation, stateless: t.stateless === true },
    deps.config.workerToken.secret,
    Math.ceil(deps.config.launch.joinTimeoutMs / 1000),
    deps.nowMs(),
  );
  return {
    [WORKER_ENV.room]: t.room,
    [WORKER_ENV.sessionId]: t.sessionId,
    [WORKER_ENV.functionsUrl]: deps.config.functionsPublicUrl,
    [WORKER_ENV.bootstrapToken]: bootstrap,
    [WORKER_ENV.sttProviders]: t.providers.stt.join(','),
    [WORKER_ENV.llmProviders]: t.providers.llm.join(','),
    [WORKER_ENV.ttsProviders]: t.providers.tts.join(','),
  };
}

/** One launch call with a deadline. Throws LaunchError. */
export async function launchOnce(deps: Deps, t: LaunchTarget): Promise<string> {
  const env = await buildEnv(deps, t);
  const { taskId } = await deps.launcher.launch(
    { sessionId: t.sessionId, room: t.room, idempotencyKey: idempotencyKeyOf(t), env },
    AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
  );
  return taskId;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stopOrphan(deps: Deps, t: LaunchTarget, taskId: string): Promise<void> {
  log('warn', 'worker_launched_for_ended_session', { sessionId: t.sessionId, room: t.room });
  try {
    await deps.launcher.stop(taskId, 'session ended during launch', AbortSignal.timeout(ATTEMPT_TIMEOUT_MS));
    countLater(deps, 'worker_stops_total', { result: 'ok' });
  } catch (err) {
    countLater(deps, 'worker_stops_total', { result: 'failed' });
    log('error', 'worker_stop_failed', { sessionId: t.sessionId, reason: describeError(err) });
  }
}

/**
 * No worker will come for this session: say why on the record, and free the room, so that the next caller's join
 * opens a fresh session instead of finding the room taken until the claim expires.
 */
export async function giveUpLaunch(
  deps: Deps,
  t: Pick<LaunchTarget, 'sessionId' | 'roomKey'>,
  fields: { launchAttempts?: number; lastLaunchError: string },
): Promise<void> {
  await updateSession(deps.redis, t.sessionId, { status: 'launch_failed', ...fields, updatedAtMs: deps.nowMs() }, deps.config.sessionTtlSeconds);
  await markInactive(deps.redis, t.sessionId);
  await releaseRoom(deps.redis, t.roomKey, t.sessionId);
}

/**
 * Launches with state in Redis. `attemptsSoFar` counts earlier attempts of this session (from the record), so the
 * total stays within LAUNCH_MAX_ATTEMPTS however often the cron resumes it.
 */
export async function launchWithRetry(deps: Deps, t: LaunchTarget, attemptsSoFar: number): Promise<SessionRecord['status']> {
  const { redis, config } = deps;
  const ttl = config.sessionTtlSeconds;
  const budget = Math.min(IMMEDIATE_ATTEMPTS, config.launch.maxAttempts - attemptsSoFar);
  let attempts = attemptsSoFar;
  for (let i = 0; i < budget; i++) {
    attempts++;
    try {
      const taskId = await launchOnce(deps, t);
      const now = deps.nowMs();
      const launched = { taskId, launchAttempts: attempts, launchedAtMs: now, updatedAtMs: now };
      // A quick worker may have reported joined before this write: it must not be set back to launched.
      let recorded = await updateSession(redis, t.sessionId, { status: 'launched', ...launched }, ttl, {
        protect: [...TERMINAL_STATUSES, 'joined', 'active'],
        generation: t.generation,
      });
      if (recorded === 'protected') recorded = await updateSession(redis, t.sessionId, launched, ttl, { generation: t.generation });
      countLater(deps, 'worker_launches_total', { result: 'ok', launcher: deps.launcher.kind });
      if (recorded !== 'updated') {
        // Ended, expired, or replaced by a newer generation while the launch was in flight: nobody else knows this task.
        await stopOrphan(deps, t, taskId);
        return 'ended';
      }
      log('info', 'worker_launched', { sessionId: t.sessionId, room: t.room, attempts, launcher: deps.launcher.kind });
      return 'launched';
    } catch (err) {
      const retryable = !(err instanceof LaunchError) || err.retryable;
      const reason = describeError(err);
      const exhausted = !retryable || attempts >= config.launch.maxAttempts;
      const now = deps.nowMs();
      countLater(deps, 'worker_launches_total', { result: exhausted ? 'failed' : 'retry', launcher: deps.launcher.kind });
      log(exhausted ? 'error' : 'warn', 'worker_launch_failed', { sessionId: t.sessionId, room: t.room, attempts, retryable, reason });
      if (exhausted) {
        await giveUpLaunch(deps, t, { launchAttempts: attempts, lastLaunchError: reason });
        return 'launch_failed';
      }
      const last = i === budget - 1;
      const pending = await updateSession(redis, t.sessionId, {
        status: last ? 'launch_pending' : 'launching',
        launchAttempts: attempts,
        lastLaunchError: reason,
        nextLaunchAtMs: now + backoffMs(attempts),
        updatedAtMs: now,
      }, ttl, { generation: t.generation });
      // Ended meanwhile: another attempt would only start a worker to stop.
      if (pending !== 'updated') return 'ended';
      // Within this request (waitUntil has about 30 s): the short end of the backoff; the cron waits out the long end.
      if (!last) await sleep(backoffMs(i + 1));
    }
  }
  return 'launch_pending';
}

/**
 * Redis is down: no claim, no record. The launcher's idempotency key (from the room sid) is the only guard against a
 * second worker, which is exactly what it exists for.
 */
export async function launchWithoutState(deps: Deps, t: LaunchTarget): Promise<void> {
  for (let attempt = 1; attempt <= IMMEDIATE_ATTEMPTS; attempt++) {
    try {
      await launchOnce(deps, t);
      countLater(deps, 'worker_launches_total', { result: 'ok', launcher: deps.launcher.kind });
      log('warn', 'worker_launched_without_state', { sessionId: t.sessionId, room: t.room });
      return;
    } catch (err) {
      const retryable = !(err instanceof LaunchError) || err.retryable;
      log('error', 'worker_launch_failed', { sessionId: t.sessionId, room: t.room, attempts: attempt, retryable, reason: describeError(err) });
      if (!retryable) return;
      await sleep(backoffMs(attempt));
    }
  }
}
