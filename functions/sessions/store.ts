// Sessions in Redis: the per-room claim that makes launches exclusive, the record, the live index and the history.
import type { HistoryMessage } from '../contract.ts';
import { historyMessageSchema } from '../contract.ts';
import type { Redis } from '../redis/client.ts';
import { toFieldMap } from '../redis/hash.ts';
import { keys } from '../redis/keys.ts';
import { sessionRecordSchema, toHashFields, TERMINAL_STATUSES, type SessionRecord } from './record.ts';

/**
 * Claims the room for `sessionId`. Returns the session id that already holds the room, or null when this call won.
 * SET NX GET is one atomic command: ten concurrent deliveries get one winner.
 */
export async function claimRoom(redis: Redis, roomKey: string, sessionId: string, ttlSeconds: number): Promise<string | null> {
  const previous = await redis.set<string>(keys.roomSession(roomKey), sessionId, { nx: true, get: true, ex: ttlSeconds });
  return previous ?? null;
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

export async function createSession(redis: Redis, record: SessionRecord, ttlSeconds: number): Promise<void> {
  const p = redis.multi();
  p.hset(keys.session(record.id), toHashFields(record));
  p.expire(keys.session(record.id), ttlSeconds);
  p.zadd(keys.activeSessions(), { score: record.createdAtMs, member: record.id });
  await p.exec();
}

export async function getSession(redis: Redis, sessionId: string): Promise<SessionRecord | null> {
  const raw = toFieldMap(await redis.hgetall(keys.session(sessionId)));
  if (!raw) return null;
  const parsed = sessionRecordSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

// Updates only a session that exists and is not finished: a late report must neither resurrect an ended session
// nor leave a half-written hash behind after the record expired.
// ARGV: [count of protected statuses, ...those statuses, ttl seconds, field, value, field, value, ...]
const UPDATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local protected = tonumber(ARGV[1])
local status = redis.call('HGET', KEYS[1], 'status')
for i = 2, protected + 1 do
  if status == ARGV[i] then return -1 end
end
redis.call('HSET', KEYS[1], unpack(ARGV, protected + 3))
redis.call('EXPIRE', KEYS[1], ARGV[protected + 2])
return 1`;

export type UpdateOutcome = 'updated' | 'missing' | 'finished';

export async function updateSession(
  redis: Redis,
  sessionId: string,
  fields: Partial<SessionRecord>,
  ttlSeconds: number,
  protect: readonly string[] = TERMINAL_STATUSES,
): Promise<UpdateOutcome> {
  const flat = Object.entries(toHashFields(fields)).flat();
  if (flat.length === 0) return 'updated';
  const result = await redis.eval<string[], number>(
    UPDATE_SCRIPT,
    [keys.session(sessionId)],
    [String(protect.length), ...protect, String(ttlSeconds), ...flat],
  );
  const n = Number(result);
  return n === 1 ? 'updated' : n === 0 ? 'missing' : 'finished';
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
