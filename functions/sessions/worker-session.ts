// Which session a worker's credential may act for, checked on every call: its own session (room and id from the
// token), of its own launch generation, not ended. A stateless session (launched while Redis was down) is adopted
// here the first time its worker calls after Redis is back: claimed and recorded, not treated as an orphan.
import type { Deps } from '../deps.ts';
import { httpError } from '../http/errors.ts';
import { orUnavailable } from '../http/unavailable.ts';
import { log } from '../observability/log.ts';
import { TERMINAL_STATUSES, type SessionRecord } from './record.ts';
import { getSession, openSession } from './store.ts';
import type { WorkerClaims } from './worker-token.ts';

export const superseded = () =>
  httpError(409, 'superseded', 'a newer worker has taken over this session; this one should leave the room');
export const sessionEnded = () => httpError(409, 'session_ended', 'this session has ended; the worker should leave the room');

async function adopt(deps: Deps, claims: WorkerClaims): Promise<SessionRecord> {
  const now = deps.nowMs();
  const record: SessionRecord = {
    id: claims.sessionId,
    room: claims.room,
    roomKey: claims.roomKey,
    ...(claims.roomKey.startsWith('name:') ? {} : { roomSid: claims.roomKey }),
    status: 'launched',
    launcher: deps.launcher.kind,
    providers: deps.config.providerPriority,
    systemPrompt: deps.config.systemPrompt,
    greeting: deps.config.greeting,
    createdAtMs: now,
    updatedAtMs: now,
    launchAttempts: 1,
    launchGeneration: claims.generation,
    launchedAtMs: now,
    launchStartedAtMs: now,
    // This call is itself the proof that the worker runs: the reconcile sweep must not count it as never joined.
    lastSeenAtMs: now,
  };
  // No cap: the worker is already running and serving a caller.
  const opened = await orUnavailable('session state', () => openSession(deps.redis, record, deps.config.sessionTtlSeconds, 0));
  if (opened.outcome === 'opened') {
    log('info', 'session_adopted', { sessionId: record.id, room: record.room });
    return record;
  }
  if (opened.outcome === 'exists' && opened.holder === record.id) {
    const again = await orUnavailable('session state', () => getSession(deps.redis, record.id));
    if (again) return again;
  }
  // Another session holds the room (a webhook after Redis returned was quicker), or the room was finished.
  log('warn', 'session_adoption_refused', { sessionId: record.id, room: record.room, outcome: opened.outcome });
  throw opened.outcome === 'finished' ? sessionEnded() : superseded();
}

export async function loadWorkerSession(deps: Deps, claims: WorkerClaims): Promise<SessionRecord> {
  const session = await orUnavailable('session state', () => getSession(deps.redis, claims.sessionId));
  if (!session) {
    if (claims.stateless) return adopt(deps, claims);
    throw httpError(404, 'session_not_found', 'no session for this worker token');
  }
  if (session.room !== claims.room) throw httpError(404, 'session_not_found', 'no session for this worker token');
  if (session.launchGeneration !== claims.generation) throw superseded();
  if ((TERMINAL_STATUSES as readonly string[]).includes(session.status)) throw sessionEnded();
  return session;
}
