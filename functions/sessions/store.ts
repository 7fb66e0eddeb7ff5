// Sessions in Redis: the per-room claim that makes launches exclusive, the record, the live index and the history.
import type { HistoryMessage } from '../contract.ts';
import { historyMessageSchema } from '../contract.ts';
import type { Redis } from '../redis/client.ts';
import { toFieldMap } from '../redis/hash.ts';
import { keys } from '../redis/keys.ts';
import { sessionRecordSchema, toHashFields, TERMINAL_STATUSES, type SessionRecord } from './record.ts';

// Opens a session in ONE step: the room claim, the record and the index entry are written together or not at all,
// so a crash can never leave a claimed room without a record (which would block the room until the claim expired).
// Refuses a room incarnation that room_finished closed (its tombstone), a room someone holds, and a full house.
// KEYS: claim, session hash, active index, finished tombstone. ARGV: sessionId, ttl, max concurrent, score, fields...
const OPEN_SCRIPT = `
if redis.call('EXISTS', KEYS[4]) == 1 then return {'finished', ''} end
local holder = redis.call('GET', KEYS[1])
if holder then return {'exists', holder} end
if tonumber(ARGV[3]) > 0 and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {'full', ''} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return {'opened', ARGV[1]}`;

export type OpenResult =
  | { outcome: 'opened' }
  | { outcome: 'exists'; holder: string }
  | { outcome: 'finished' }
  | { outcome: 'full' };

export async function openSession(redis: Redis, record: SessionRecord, ttlSeconds: number, maxConcurrent: number): Promise<OpenResult> {
  const flat = Object.entries(toHashFields(record)).flat();
  const reply = await redis.eval<string[], [string, string]>(
    OPEN_SCRIPT,
    [keys.roomSession(record.roomKey), keys.session(record.id), keys.activeSessions(), keys.roomFinished(record.roomKey)],
    [record.id, String(ttlSeconds), String(maxConcurrent), String(record.createdAtMs), ...flat],
  );
  const [outcome, holder] = [String(reply[0]), String(reply[1] ?? '')];
  if (outcome === 'exists') return { outcome, holder };
  if (outcome === 'opened' || outcome === 'finished' || outcome === 'full') return { outcome };
  throw new Error(`unexpected reply from the open script: ${outcome.slice(0, 40)}`);
}

/** room_finished is final for its incarnation: a late participant_joined for that sid must not open a session. */
export async function markRoomFinished(redis: Redis, roomKey: string, ttlSeconds: number): Promise<void> {
  await redis.set(keys.roomFinished(roomKey), '1', { ex: ttlSeconds });
}

export async function releaseRoom(redis: Redis, roomKey: string, sessionId: string): Promise<void> {
  // Only the holder releases: a newer session for the same room keeps its claim.
  await redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
    [keys.roomSession(roomKey)],
    [sessionId],
  );
}

export async function sessionIdForRoom(redis: Redis, roomKey: string): Promise<string | null> {
  return (await redis.get<string>(keys.roomSession(roomKey))) ?? null;
}

export async function getSession(redis: Redis, sessionId: string): Promise<SessionRecord | null> {
  return toSessionRecord(await redis.hgetall(keys.session(sessionId)));
}

// One pipelined request per batch instead of one per session. A Worker request may have six connections waiting at
// once (more queue, spending their deadlines) and 50 subrequests in all on the Free plan: a read per session would
// fail a listing of 50 sessions there, and queue and time out under load anywhere.
const READ_BATCH = 100;

/** The records of these sessions, in their order; null where a record is gone or unreadable. */
export async function getSessions(redis: Redis, sessionIds: readonly string[]): Promise<(SessionRecord | null)[]> {
  const records: (SessionRecord | null)[] = [];
  for (let start = 0; start < sessionIds.length; start += READ_BATCH) {
    const pipeline = redis.pipeline();
    for (const id of sessionIds.slice(start, start + READ_BATCH)) pipeline.hgetall(keys.session(id));
    const replies = await pipeline.exec<unknown[]>();
    records.push(...replies.map(toSessionRecord));
  }
  return records;
}

function toSessionRecord(reply: unknown): SessionRecord | null {
  const raw = toFieldMap(reply);
  if (!raw) return null;
  const parsed = sessionRecordSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

// Updates only a session that exists, is of the expected launch generation (when one is given) and is not in a
// protected status, all checked and written in one script: a report from a worker that was replaced a moment ago,
// or a late report after the end, can neither win a race nor resurrect anything.
// ARGV: [expected generation or '', count of protected statuses, ...those statuses, ttl seconds, field, value, ...]
const UPDATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, ''} end
local status = redis.call('HGET', KEYS[1], 'status') or ''
if ARGV[1] ~= '' and (redis.call('HGET', KEYS[1], 'launchGeneration') or '1') ~= ARGV[1] then return {-2, status} end
local protected = tonumber(ARGV[2])
for i = 3, protected + 2 do
  if status == ARGV[i] then return {-1, status} end
end
redis.call('HSET', KEYS[1], unpack(ARGV, protected + 4))
redis.call('EXPIRE', KEYS[1], ARGV[protected + 3])
return {1, status}`;

/** `finished`: in a terminal status; `protected`: in another status the caller protected; `superseded`: other generation. */
export type UpdateOutcome = 'updated' | 'missing' | 'finished' | 'protected' | 'superseded';

export interface UpdateOptions {
  /** Statuses the update must not overwrite (default: the terminal ones). */
  protect?: readonly string[];
  /** Only for this launch generation. */
  generation?: number;
}

export async function updateSession(
  redis: Redis,
  sessionId: string,
  fields: Partial<SessionRecord>,
  ttlSeconds: number,
  options: UpdateOptions = {},
): Promise<UpdateOutcome> {
  const { protect = TERMINAL_STATUSES, generation } = options;
  const flat = Object.entries(toHashFields(fields)).flat();
  if (flat.length === 0) return 'updated';
  const reply = await redis.eval<string[], [number, string]>(
    UPDATE_SCRIPT,
    [keys.session(sessionId)],
    [generation === undefined ? '' : String(generation), String(protect.length), ...protect, String(ttlSeconds), ...flat],
  );
  const n = Number(reply[0]);
  const status = String(reply[1] ?? '');
  if (n === 1) return 'updated';
  if (n === 0) return 'missing';
  if (n === -2) return 'superseded';
  return (TERMINAL_STATUSES as readonly string[]).includes(status) ? 'finished' : 'protected';
}

/** Burns a bootstrap credential's nonce: true the first time, false ever after (until long past its expiry). */
export async function consumeBootstrap(redis: Redis, jti: string, ttlSeconds: number): Promise<boolean> {
  return (await redis.set(keys.bootstrapUsed(jti), '1', { nx: true, ex: Math.max(60, ttlSeconds) })) !== null;
}

/** Calls this minute by one session's worker, counted atomically; the window is the wall-clock minute. */
export async function countWorkerCall(redis: Redis, sessionId: string, nowMs: number): Promise<number> {
  const key = keys.workerRate(sessionId, Math.floor(nowMs / 60_000));
  const n = await redis.eval<string[], number>(
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], 120) end return n",
    [key],
    [],
  );
  return Number(n);
}

export async function markInactive(redis: Redis, sessionId: string): Promise<void> {
  await redis.zrem(keys.activeSessions(), sessionId);
}

export async function listActiveSessionIds(redis: Redis, limit = 500): Promise<string[]> {
  const ids = await redis.zrange<string[]>(keys.activeSessions(), 0, limit - 1);
  return ids.map(String);
}

export async function countActiveSessions(redis: Redis): Promise<number> {
  return Number(await redis.zcard(keys.activeSessions()));
}

export async function appendHistory(
  redis: Redis,
  sessionId: string,
  messages: HistoryMessage[],
  maxMessages: number,
  ttlSeconds: number,
): Promise<number> {
  const key = keys.history(sessionId);
  const p = redis.multi();
  p.rpush(key, ...messages.map((m) => JSON.stringify(m)));
  p.ltrim(key, -maxMessages, -1);
  p.expire(key, ttlSeconds);
  p.llen(key);
  const results = await p.exec();
  return Number(results[3]);
}

export async function readHistory(redis: Redis, sessionId: string, lastN: number): Promise<HistoryMessage[]> {
  const raw = await redis.lrange<string>(keys.history(sessionId), -lastN, -1);
  const out: HistoryMessage[] = [];
  for (const item of raw) {
    const parsed = historyMessageSchema.safeParse(typeof item === 'string' ? JSON.parse(item) : item);
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}
