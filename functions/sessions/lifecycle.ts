// Opening a session when the first caller shows up in a room, and closing it when the room is gone.
import type { Deps } from '../deps.ts';
import { countLater } from '../observability/counters.ts';
import { describeError, log } from '../observability/log.ts';
import { launchWithRetry, launchWithoutState } from './launch.ts';
import { rankedProviderOrder } from './ranked-order.ts';
import { newSessionId, roomKeyOf, type SessionRecord } from './record.ts';
import { getSession, markInactive, markRoomFinished, openSession, releaseRoom, sessionIdForRoom, updateSession } from './store.ts';

export interface RoomRef {
  name: string;
  sid?: string | undefined;
}

export type OpenOutcome =
  | { action: 'launching'; sessionId: string }
  | { action: 'exists'; sessionId: string }
  | { action: 'launching_without_state'; sessionId: string }
  /** room_finished closed this incarnation: a late join opens nothing. */
  | { action: 'finished' }
  /** MAX_CONCURRENT_SESSIONS reached: nothing launched (the token route tells callers with a 503 first). */
  | { action: 'at_capacity' };

export async function openSessionForRoom(deps: Deps, room: RoomRef): Promise<OpenOutcome> {
  const { redis, config } = deps;
  const roomKey = roomKeyOf(room);
  const sessionId = newSessionId();
  const { order, source } = await rankedProviderOrder(deps);
  const now = deps.nowMs();
  const record: SessionRecord = {
    id: sessionId,
    room: room.name,
    roomSid: room.sid,
    roomKey,
    status: 'launching',
    launcher: deps.launcher.kind,
    providers: order,
    systemPrompt: config.systemPrompt,
    greeting: config.greeting,
    createdAtMs: now,
    updatedAtMs: now,
    launchAttempts: 0,
    launchGeneration: 1,
    launchStartedAtMs: now,
  };
  let opened;
  try {
    opened = await openSession(redis, record, config.sessionTtlSeconds, config.maxConcurrentSessions);
  } catch (err) {
    // No state: launch anyway, the caller is waiting for an agent. The worker's credentials say so, and the
    // functions adopt the session (claim and record) once Redis answers again instead of treating it as an orphan.
    log('error', 'session_open_failed', { room: room.name, reason: describeError(err) });
    const target = { sessionId, room: room.name, roomKey, providers: config.providerPriority, generation: 1, stateless: true };
    deps.waitUntil(launchWithoutState(deps, target));
    countLater(deps, 'sessions_opened_total', { state: 'stateless' });
    return { action: 'launching_without_state', sessionId };
  }
  if (opened.outcome === 'exists') return { action: 'exists', sessionId: opened.holder };
  if (opened.outcome === 'finished') return { action: 'finished' };
  if (opened.outcome === 'full') {
    log('warn', 'session_refused_at_capacity', { room: room.name, maxConcurrentSessions: config.maxConcurrentSessions });
    countLater(deps, 'sessions_refused_total', { reason: 'at_capacity' });
    return { action: 'at_capacity' };
  }
  log('info', 'session_opened', { sessionId, room: room.name, ranking: source });
  countLater(deps, 'sessions_opened_total', { state: 'stored' });
  deps.waitUntil(launchWithRetry(deps, { sessionId, room: room.name, roomKey, providers: order, generation: 1 }, 0));
  return { action: 'launching', sessionId };
}

/** Stops the worker (if any) and ends the session. Safe to call twice. */
export async function endSession(deps: Deps, session: SessionRecord, reason: string): Promise<void> {
  if (session.taskId) {
    try {
      await deps.launcher.stop(session.taskId, reason, AbortSignal.timeout(10_000));
      countLater(deps, 'worker_stops_total', { result: 'ok' });
    } catch (err) {
      countLater(deps, 'worker_stops_total', { result: 'failed' });
      log('error', 'worker_stop_failed', { sessionId: session.id, reason: describeError(err) });
    }
  }
  const now = deps.nowMs();
  const outcome = await updateSession(
    deps.redis,
    session.id,
    { status: 'ended', endedAtMs: now, endReason: reason, updatedAtMs: now },
    deps.config.sessionTtlSeconds,
    { protect: ['ended'] },
  );
  await markInactive(deps.redis, session.id);
  // A sid-keyed claim stays until it expires: LiveKit queues room and participant events separately, so a late
  // participant_joined for this finished incarnation must find the room taken. A new incarnation has a new sid.
  // Name-keyed claims (no sid known) are released, or the name could never host a session again.
  if (session.roomKey.startsWith('name:')) await releaseRoom(deps.redis, session.roomKey, session.id);
  if (outcome === 'updated') {
    countLater(deps, 'sessions_ended_total', { reason });
    log('info', 'session_ended', { sessionId: session.id, room: session.room, reason });
  }
}

export async function closeSessionForRoom(deps: Deps, room: RoomRef, reason: string): Promise<string | null> {
  const roomKey = roomKeyOf(room);
  // Final for this incarnation even when its session ended before (idle, worker exit) and released the claim.
  if (!roomKey.startsWith('name:')) await markRoomFinished(deps.redis, roomKey, deps.config.sessionTtlSeconds);
  const sessionId = await sessionIdForRoom(deps.redis, roomKey);
  if (!sessionId) return null;
  const session = await getSession(deps.redis, sessionId);
  if (!session) {
    await markInactive(deps.redis, sessionId);
    return sessionId;
  }
  await endSession(deps, session, reason);
  return sessionId;
}
