// Reading many session records at once, against a real redis-server through the Upstash REST stand-in, with the
// production client configuration.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '../../functions/redis/client.ts';
import type { SessionRecord } from '../../functions/sessions/record.ts';
import { getSessions, openSession } from '../../functions/sessions/store.ts';
import { startUpstashStack, type UpstashStack } from '../support/redis.ts';

let stack: UpstashStack;
let redis: Redis;

beforeAll(async () => {
  stack = await startUpstashStack();
  redis = createRedis({ url: stack.restUrl, token: stack.token, timeoutMs: 5_000 });
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await redis.flushdb();
});

const recordOf = (i: number): SessionRecord => ({
  id: `sess_${i}`,
  room: `room-${i}`,
  roomKey: `RM_room-${i}`,
  status: 'launched',
  launcher: 'local',
  providers: { stt: ['deepgram'], llm: ['openai'], tts: ['elevenlabs'] },
  systemPrompt: 'be brief',
  createdAtMs: 1_800_000_000_000 + i,
  updatedAtMs: 1_800_000_000_000 + i,
  launchAttempts: 1,
  launchGeneration: 1,
});

describe('getSessions', () => {
  it('returns 250 records in the order asked, in three pipelined requests of at most 100', async () => {
    const records = Array.from({ length: 250 }, (_, i) => recordOf(i));
    for (const record of records) expect(await openSession(redis, record, 600, 0)).toEqual({ outcome: 'opened' });
    const ids = records.map((r) => r.id).reverse();

    const before = stack.restPaths().length;
    const read = await getSessions(redis, ids);
    const during = stack.restPaths().slice(before);

    expect(read.map((r) => r?.id)).toEqual(ids);
    expect(read[0]).toEqual(records[249]);
    expect(during).toEqual(['/pipeline', '/pipeline', '/pipeline']);
  });

  it('gives null for a record that is gone or unreadable, and the others still', async () => {
    await openSession(redis, recordOf(1), 600, 0);
    await openSession(redis, recordOf(2), 600, 0);
    await redis.hset('session:sess_2', { status: 'not-a-status' });
    const read = await getSessions(redis, ['sess_1', 'sess_gone', 'sess_2']);
    expect(read).toEqual([recordOf(1), null, null]);
  });

  it('asks Redis nothing for no ids', async () => {
    const before = stack.restPaths().length;
    expect(await getSessions(redis, [])).toEqual([]);
    expect(stack.restPaths().length).toBe(before);
  });
});
