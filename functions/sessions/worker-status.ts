// How a worker's status report moves its session along. Every write is checked in Redis, atomically, against the
// generation the worker's token names: a worker that was replaced can report what it likes, the session it used to
// serve does not move (and it hears 409, so it leaves).
import type { WorkerStatusReport } from '../contract.ts';
import type { Deps } from '../deps.ts';
import { countLater } from '../observability/counters.ts';
import { log } from '../observability/log.ts';
import { TERMINAL_STATUSES, type SessionRecord } from './record.ts';
import { markInactive, releaseRoom, updateSession, type UpdateOutcome } from './store.ts';

export async function applyWorkerStatus(
  deps: Deps,
  session: SessionRecord,
  generation: number,
  report: WorkerStatusReport,
): Promise<UpdateOutcome> {
  const now = deps.nowMs();
  const ttl = deps.config.sessionTtlSeconds;
  const reason = report.reason;
  const update = (fields: Partial<SessionRecord>, protect: readonly string[] = TERMINAL_STATUSES) =>
    updateSession(deps.redis, session.id, fields, ttl, { protect, generation });
  let outcome: UpdateOutcome;
  switch (report.status) {
    case 'joined': {
      // A late 'joined' must not take an active session back; it still counts as a heartbeat.
      outcome = await update({ status: 'joined', joinedAtMs: now, lastSeenAtMs: now, updatedAtMs: now }, [...TERMINAL_STATUSES, 'active']);
      if (outcome === 'protected') outcome = await update({ lastSeenAtMs: now });
      break;
    }
    case 'active':
      outcome = await update({ status: 'active', lastSeenAtMs: now, updatedAtMs: now, ...(session.joinedAtMs ? {} : { joinedAtMs: now }) });
      break;
    case 'failed':
      outcome = await update({ status: 'failed', workerReason: reason, lastSeenAtMs: now, updatedAtMs: now });
      break;
    case 'ended':
      // The worker leaves by itself (room empty, idle, max length): nothing to stop, only bookkeeping.
      outcome = await update({ status: 'ended', endedAtMs: now, endReason: 'worker_ended', workerReason: reason, updatedAtMs: now }, ['ended']);
      if (outcome === 'updated') {
        await markInactive(deps.redis, session.id);
        // The room is free again: a caller who (re)joins this room after an idle or max-length end gets a new agent.
        // room_finished's tombstone still keeps a closed incarnation closed.
        await releaseRoom(deps.redis, session.roomKey, session.id);
        countLater(deps, 'sessions_ended_total', { reason: 'worker_ended' });
      }
      break;
  }
  countLater(deps, 'worker_status_reports_total', { status: report.status, applied: outcome });
  log('info', 'worker_status', { sessionId: session.id, generation, status: report.status, applied: outcome });
  return outcome;
}
