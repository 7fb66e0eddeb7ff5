// The scheduled sweep that repairs what webhooks alone cannot: lost launches, dead workers, rooms that vanished
// without a room_finished, and index entries whose session already expired.
import type { Deps } from '../deps.ts';
import { existingRoomNames } from '../livekit/rooms.ts';
import { countLater } from '../observability/counters.ts';
import { describeError, log } from '../observability/log.ts';
import { giveUpLaunch, launchWithRetry } from './launch.ts';
import { endSession } from './lifecycle.ts';
import type { SessionRecord } from './record.ts';
import { getSessions, listActiveSessionIds, markInactive, updateSession } from './store.ts';

const LIVEKIT_TIMEOUT_MS = 5_000;

export interface ReconcileReport {
  checked: number;
  relaunched: number;
  ended: number;
  dropped: number;
  roomsChecked: boolean;
}

/** Why a live session needs a fresh worker now, or null. */
export function relaunchReason(s: SessionRecord, nowMs: number, deps: Pick<Deps, 'config'>): string | null {
  const { joinTimeoutMs, heartbeatTimeoutMs } = deps.config.launch;
  switch (s.status) {
    case 'launching':
    case 'launch_pending':
      // 'launching' older than the join timeout means the isolate running the launch died mid-way.
      if (s.status === 'launching' && nowMs - s.updatedAtMs < joinTimeoutMs) return null;
      return (s.nextLaunchAtMs ?? 0) <= nowMs ? 'launch_retry' : null;
    case 'launched':
      // A worker that calls us is in its room even if its 'joined' is still in its outbox: a heartbeat is proof.
      if (s.lastSeenAtMs !== undefined && nowMs - s.lastSeenAtMs <= heartbeatTimeoutMs) return null;
      return nowMs - (s.launchedAtMs ?? s.updatedAtMs) > joinTimeoutMs ? 'never_joined' : null;
    case 'joined':
    case 'active':
      return nowMs - (s.lastSeenAtMs ?? s.updatedAtMs) > heartbeatTimeoutMs ? 'worker_silent' : null;
    case 'failed':
      return 'worker_failed';
    default:
      return null;
  }
}

async function relaunch(deps: Deps, s: SessionRecord, reason: string): Promise<boolean> {
  if (s.launchAttempts >= deps.config.launch.maxAttempts) {
    await giveUpLaunch(deps, { sessionId: s.id, roomKey: s.roomKey }, { lastLaunchError: `gave up after ${s.launchAttempts} attempts (${reason})` });
    return false;
  }
  const launchingForMs = deps.nowMs() - (s.launchStartedAtMs ?? s.createdAtMs);
  if (reason === 'launch_retry' && launchingForMs > deps.config.launch.retryBudgetMs) {
    const minutes = Math.round(deps.config.launch.retryBudgetMs / 60_000);
    await giveUpLaunch(deps, { sessionId: s.id, roomKey: s.roomKey }, { lastLaunchError: `gave up after the ${minutes} min launch budget (${s.lastLaunchError ?? reason})` });
    return false;
  }
  // A retry of a launch that never produced a task keeps its idempotency key; replacing a worker that did start
  // needs a new one, or ECS would hand back the dead task.
  const freshWorker = reason !== 'launch_retry';
  const generation = freshWorker ? s.launchGeneration + 1 : s.launchGeneration;
  const now = deps.nowMs();
  const marked = await updateSession(
    deps.redis,
    s.id,
    { status: 'launching', launchGeneration: generation, updatedAtMs: now, ...(freshWorker ? { launchStartedAtMs: now } : {}) },
    deps.config.sessionTtlSeconds,
    // The generation we read: a concurrent sweep (or a worker report) that moved it on wins, and we launch nothing.
    { generation: s.launchGeneration },
  );
  // Our copy of the session was read before the LiveKit lookup: a room_finished in between has ended it since.
  if (marked !== 'updated') return false;
  // Stopped only after the generation moved on: the old worker's 'ended' on SIGTERM is then refused as superseded
  // instead of ending the session it is being replaced in.
  if (freshWorker && s.taskId) {
    await deps.launcher.stop(s.taskId, `replaced: ${reason}`, AbortSignal.timeout(10_000)).catch((err) =>
      log('warn', 'worker_stop_failed', { sessionId: s.id, reason: describeError(err) }),
    );
  }
  log('info', 'session_relaunch', { sessionId: s.id, room: s.room, reason, generation });
  countLater(deps, 'sessions_relaunched_total', { reason });
  await launchWithRetry(deps, { sessionId: s.id, room: s.room, roomKey: s.roomKey, providers: s.providers, generation }, s.launchAttempts);
  return true;
}

export async function reconcile(deps: Deps): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, relaunched: 0, ended: 0, dropped: 0, roomsChecked: false };
  const ids = await listActiveSessionIds(deps.redis);
  const sessions: SessionRecord[] = [];
  const records = await getSessions(deps.redis, ids);
  for (const [i, id] of ids.entries()) {
    const s = records[i];
    if (!s || s.status === 'ended' || s.status === 'launch_failed') {
      // Expired or finished records linger in the index only by accident: drop them.
      await markInactive(deps.redis, id);
      report.dropped++;
      continue;
    }
    sessions.push(s);
  }
  report.checked = sessions.length;

  let liveRooms: Set<string> | null = null;
  if (sessions.length > 0) {
    try {
      liveRooms = await existingRoomNames(deps.config.livekit, [...new Set(sessions.map((s) => s.room))], LIVEKIT_TIMEOUT_MS);
      report.roomsChecked = true;
    } catch (err) {
      // Never end sessions on a failed lookup: an unreachable LiveKit is not an empty one.
      log('warn', 'reconcile_rooms_unavailable', { reason: describeError(err) });
    }
  }

  for (const s of sessions) {
    try {
      if (liveRooms && !liveRooms.has(s.room)) {
        await endSession(deps, s, 'room_gone');
        report.ended++;
        continue;
      }
      const reason = relaunchReason(s, deps.nowMs(), deps);
      if (reason && (await relaunch(deps, s, reason))) report.relaunched++;
    } catch (err) {
      log('error', 'reconcile_session_failed', { sessionId: s.id, reason: describeError(err) });
    }
  }
  log('info', 'reconcile_done', { ...report });
  return report;
}
