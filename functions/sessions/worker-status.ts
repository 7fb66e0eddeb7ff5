// How a worker's status report moves its session along.
import type { WorkerStatusReport } from '../contract.ts';
import type { Deps } from '../deps.ts';
import { countLater } from '../observability/counters.ts';
import { log } from '../observability/log.ts';
import { TERMINAL_STATUSES, type SessionRecord } from './record.ts';
import { markInactive, updateSession, type UpdateOutcome } from './store.ts';

export async function applyWorkerStatus(deps: Deps, session: SessionRecord, report: WorkerStatusReport): Promise<UpdateOutcome> {
  const now = deps.nowMs();
  const ttl = deps.config.sessionTtlSeconds;
  const reason = report.reason;
  let outcome: UpdateOutcome;
  switch (report.status) {
    case 'joined': {
      // A late 'joined' must not take an active session back; it still counts as a heartbeat.
      outcome = await updateSession(deps.redis, session.id, { status: 'joined', joinedAtMs: now, lastSeenAtMs: now, updatedAtMs: now }, ttl, [...TERMINAL_STATUSES, 'active']);
      if (outcome === 'finished' && session.status === 'active') {
        outcome = await updateSession(deps.redis, session.id, { lastSeenAtMs: now }, ttl);
      }
      break;
    }
    case 'active':
      outcome = await updateSession(deps.redis, session.id, { status: 'active', lastSeenAtMs: now, updatedAtMs: now }, ttl);
      break;
    case 'failed':
      outcome = await updateSession(deps.redis, session.id, { status: 'failed', workerReason: reason, lastSeenAtMs: now, updatedAtMs: now }, ttl);
      break;
    case 'ended':
      // The worker leaves by itself (room empty, idle, max length): nothing to stop, only bookkeeping.
      outcome = await updateSession(
        deps.redis,
        session.id,
        { status: 'ended', endedAtMs: now, endReason: 'worker_ended', workerReason: reason, updatedAtMs: now },
        ttl,
        ['ended'],
      );
      if (outcome === 'updated') {
        await markInactive(deps.redis, session.id);
        countLater(deps, 'sessions_ended_total', { reason: 'worker_ended' });
      }
      break;
  }
  countLater(deps, 'worker_status_reports_total', { status: report.status });
  log('info', 'worker_status', { sessionId: session.id, status: report.status, applied: outcome });
  return outcome;
}
