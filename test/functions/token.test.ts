// POST /v1/token inside workerd: verified with livekit-server-sdk's TokenVerifier, rate limited on real Redis.
import { Redis } from '@upstash/redis';
import { TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFunctions, testBindings, type FunctionsHandle } from '../support/functions.ts';
import { startUpstashStack, type UpstashStack } from '../support/redis.ts';

let stack: UpstashStack;
let fn: FunctionsHandle;

const post = (body: unknown, key = 'test-app-key-1', headers: Record<string, string> = {}) =>
  fn.fetch('/v1/token', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  stack = await startUpstashStack();
  fn = await startFunctions(
    testBindings({
      UPSTASH_REDIS_REST_URL: stack.restUrl,
      UPSTASH_REDIS_REST_TOKEN: stack.token,
      LIVEKIT_URL: 'wss://livekit.test',
      RATE_LIMIT_PER_IP_PER_MINUTE: '5',
      // The limiter allows a request whose check outlives this bound (fail open): a loaded test machine must not.
      REDIS_TIMEOUT_MS: '5000',
      RATE_LIMIT_PER_KEY_PER_MINUTE: '1000',
      // A client key bound to a room prefix (`key:prefix`).
      APP_API_KEYS: 'test-app-key-1,test-app-key-2,support-only-key:support-',
    }),
  );
});

afterAll(async () => {
  await fn?.dispose();
  await stack?.stop();
});

describe('POST /v1/token', () => {
  it('issues a LiveKit token scoped to one room with the default 15 minute TTL', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await post({ room: 'support-42', identity: 'alice', name: 'Alice', metadata: '{"plan":"pro"}' }, 'test-app-key-1', { 'cf-connecting-ip': '10.0.0.1' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; url: string; room: string; identity: string; expiresAt: string };
    expect(body).toMatchObject({ url: 'wss://livekit.test', room: 'support-42', identity: 'alice' });
    const claims = await new TokenVerifier('devkey', 'secret').verify(body.token);
    expect(claims.sub).toBe('alice');
    expect(claims.iss).toBe('devkey');
    expect(claims.name).toBe('Alice');
    expect(claims.metadata).toBe('{"plan":"pro"}');
    expect(claims.video).toMatchObject({ roomJoin: true, room: 'support-42', canPublish: true, canSubscribe: true, canPublishData: true });
    // The microphone and data only: no camera or screen share for a stolen caller token to broadcast with.
    expect(claims.video?.canPublishSources).toEqual(['microphone']);
    expect(claims.video?.roomAdmin).toBeFalsy();
    expect(claims.video?.roomCreate).toBeFalsy();
    const exp = Number(claims.exp);
    expect(exp - before).toBeGreaterThanOrEqual(900 - 5);
    expect(exp - before).toBeLessThanOrEqual(900 + 5);
    expect(Math.abs(Date.parse(body.expiresAt) / 1000 - exp)).toBeLessThanOrEqual(2);
  });

  it('honours ttlSeconds up to one hour and refuses more', async () => {
    const ok = await post({ room: 'r1', identity: 'bob', ttlSeconds: 3_600 }, 'test-app-key-2', { 'cf-connecting-ip': '10.0.0.2' });
    expect(ok.status).toBe(200);
    const claims = await new TokenVerifier('devkey', 'secret').verify(((await ok.json()) as { token: string }).token);
    expect(Number(claims.exp) - Math.floor(Date.now() / 1000)).toBeGreaterThan(3_600 - 10);
    const tooLong = await post({ room: 'r1', identity: 'bob', ttlSeconds: 3_601 }, 'test-app-key-2', { 'cf-connecting-ip': '10.0.0.2' });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).toContain('ttlSeconds');
  });

  it('rejects missing and wrong application keys with 401', async () => {
    const none = await fn.fetch('/v1/token', { method: 'POST', body: JSON.stringify({ room: 'r', identity: 'i' }) });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const wrong = await post({ room: 'r', identity: 'i' }, 'test-app-key-X');
    expect(wrong.status).toBe(401);
    const prefix = await post({ room: 'r', identity: 'i' }, 'test-app-key-1-and-more');
    expect(prefix.status).toBe(401);
  });

  it('accepts the room names and identities LiveKit accepts, such as a long SIP room', async () => {
    const room = `_+15551234567_${'AbCdEfGh'.repeat(12)}`;
    const res = await post({ room, identity: 'sip_+15551234567' }, 'test-app-key-1', { 'cf-connecting-ip': '10.0.0.9' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { room: string }).room).toBe(room);
  });

  it('lets a prefix-bound client key mint only for rooms under its prefix', async () => {
    const ok = await post({ room: 'support-7', identity: 'sam' }, 'support-only-key', { 'cf-connecting-ip': '10.0.1.1' });
    expect(ok.status).toBe(200);
    const other = await post({ room: 'sales-7', identity: 'sam' }, 'support-only-key', { 'cf-connecting-ip': '10.0.1.1' });
    expect(other.status).toBe(403);
    expect(await other.text()).toContain('support-');
    // The key is the part before the colon: the whole entry is not a key.
    expect((await post({ room: 'support-8', identity: 'sam' }, 'support-only-key:support-')).status).toBe(401);
  });

  it('answers 503 with a message once MAX_CONCURRENT_SESSIONS sessions are live', async () => {
    const full = await startFunctions(
      testBindings({ UPSTASH_REDIS_REST_URL: stack.restUrl, UPSTASH_REDIS_REST_TOKEN: stack.token, LIVEKIT_URL: 'wss://livekit.test', MAX_CONCURRENT_SESSIONS: '1' }),
    );
    try {
      const redis = new Redis({ url: stack.restUrl, token: stack.token });
      await redis.zadd('sessions:active', { score: Date.now(), member: 'sess_busy' });
      const res = await full.fetch('/v1/token', {
        method: 'POST',
        headers: { authorization: 'Bearer test-app-key-1', 'content-type': 'application/json', 'cf-connecting-ip': '10.0.2.1' },
        body: JSON.stringify({ room: 'r-full', identity: 'late' }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect(await res.text()).toMatch(/MAX_CONCURRENT_SESSIONS/);
      await redis.zrem('sessions:active', 'sess_busy');
    } finally {
      await full.dispose();
    }
  });

  it('bounds the body of every route: 413 for a huge token request', async () => {
    const res = await post({ room: 'r', identity: 'i', metadata: 'x'.repeat(70 * 1024) }, 'test-app-key-1');
    expect(res.status).toBe(413);
  });

  it.each([
    ['malformed JSON', '{"room":', 'invalid_json'],
    ['missing identity', { room: 'r' }, 'identity'],
    ['room with a control character', { room: 'a\nb', identity: 'i' }, 'room'],
    ['room too long', { room: 'r'.repeat(257), identity: 'i' }, 'room'],
    ['identity with surrounding spaces', { room: 'r', identity: ' ab ' }, 'identity'],
    ['ttl not an integer', { room: 'r', identity: 'i', ttlSeconds: 90.5 }, 'ttlSeconds'],
    ['ttl below a minute', { room: 'r', identity: 'i', ttlSeconds: 10 }, 'ttlSeconds'],
    ['metadata too large', { room: 'r', identity: 'i', metadata: 'x'.repeat(5000) }, 'metadata'],
    ['the agent identity prefix', { room: 'r', identity: 'agent-sneaky' }, 'reserved'],
  ])('rejects %s with a 400 that names the problem', async (_name, body, expected) => {
    const res = await post(body, 'test-app-key-1', { 'cf-connecting-ip': '10.0.0.3' });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { message: string; code: string } };
    expect(`${json.error.code} ${json.error.message}`).toContain(expected);
  });

  it('rate limits per client IP with 429 and retry-after, without touching other IPs', async () => {
    const ip = '192.0.2.77';
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await post({ room: 'r', identity: `u${i}` }, 'test-app-key-1', { 'cf-connecting-ip': ip })).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    const limited = await post({ room: 'r', identity: 'u' }, 'test-app-key-1', { 'cf-connecting-ip': ip });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await post({ room: 'r', identity: 'u' }, 'test-app-key-1', { 'cf-connecting-ip': '192.0.2.78' });
    expect(other.status).toBe(200);
  });
});

describe('POST /v1/token with Redis down', () => {
  it('still issues tokens (rate limiting fails open) and does not hang', async () => {
    await stack.stopRedis();
    try {
      const res = await post({ room: 'r', identity: 'carol' }, 'test-app-key-1', { 'cf-connecting-ip': '10.9.9.9' });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { token: string };
      expect((await new TokenVerifier('devkey', 'secret').verify(body.token)).sub).toBe('carol');
    } finally {
      await stack.startRedis();
    }
  });
});
