// The Upstash REST stand-in driven by @upstash/redis itself (and by raw fetch for the protocol edges), over a real
// redis-server.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import { errors, Redis } from '@upstash/redis';
import { Ratelimit } from '@upstash/ratelimit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashStack } from '../support/redis.ts';
import { closedPort } from '../fakes/kit/server.ts';
import type { UpstashStack } from '../support/redis.ts';

type ClientOptions = { enableAutoPipelining?: boolean; token?: string };

function clientFor(stack: UpstashStack, options: ClientOptions = {}): Redis {
  return new Redis({
    url: stack.restUrl,
    token: options.token ?? stack.token,
    enableTelemetry: false,
    retry: false,
    enableAutoPipelining: options.enableAutoPipelining ?? true,
  });
}

function post(stack: UpstashStack, path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${stack.restUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

/** Runs `work` while noting the path and sync token of every request the SDK sends (fetch itself is untouched). */
async function observeRequests(work: () => Promise<unknown>) {
  const realFetch = globalThis.fetch;
  const seen: { path: string; syncToken: string | null }[] = [];
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    seen.push({ path: url.pathname, syncToken: new Headers(init?.headers).get('upstash-sync-token') });
    return realFetch(input, init);
  };
  try {
    await work();
  } finally {
    globalThis.fetch = realFetch;
  }
  return seen;
}

async function eventually<T>(attempt: () => Promise<T>, boundMs: number): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

let keyCounter = 0;
const freshKey = (label: string) => `test:${label}:${++keyCounter}`;

describe('Upstash REST stand-in through @upstash/redis', () => {
  let stack: UpstashStack;
  let redis: Redis;
  beforeAll(async () => {
    stack = await startUpstashStack();
    redis = clientFor(stack);
  });
  afterAll(() => stack?.stop());

  it('stores strings, numbers and JSON values the way the SDK reads them back', async () => {
    const [text, number, json, padded, ok] = ['s', 'n', 'j', 'p', 'ok'].map(freshKey) as [string, string, string, string, string];
    expect(await redis.set(text, 'hello world')).toBe('OK');
    await redis.set(number, 42);
    await redis.set(json, { name: 'ada', tags: ['a', 'b'], nested: { on: true } });
    await redis.set(padded, '007');
    await redis.set(ok, 'OK');
    expect(await redis.get(text)).toBe('hello world');
    expect(await redis.get(number)).toBe(42);
    expect(await redis.get(json)).toEqual({ name: 'ada', tags: ['a', 'b'], nested: { on: true } });
    expect(await redis.get(padded)).toBe('007');
    expect(await redis.get(ok)).toBe('OK');
    expect(await redis.get(freshKey('missing'))).toBeNull();
    expect(await redis.incrbyfloat(number, 0.5)).toBe(42.5);
  });

  it('round-trips unicode and control characters byte for byte, also inside arrays', async () => {
    const key = freshKey('bin');
    const value = `héllo 🌍 \u0000\u0001\u007f ${String.fromCharCode(...Array.from({ length: 254 }, (_, i) => i + 2))}`;
    await redis.set(key, value);
    expect(await redis.get(key)).toBe(value);
    expect(await redis.strlen(key)).toBe(Buffer.byteLength(value, 'utf8'));
    const list = freshKey('list');
    await redis.rpush(list, 'OK', 'ünï', 'PONG');
    expect(await redis.lrange(list, 0, -1)).toEqual(['OK', 'ünï', 'PONG']);
  });

  it('serves hashes, sets and sorted sets', async () => {
    const [hash, set, zset] = [freshKey('h'), freshKey('set'), freshKey('z')];
    await redis.hset(hash, { name: 'ada', visits: 1, profile: { lang: 'en' } });
    expect(await redis.hincrby(hash, 'visits', 2)).toBe(3);
    expect(await redis.hget(hash, 'name')).toBe('ada');
    expect(await redis.hgetall(hash)).toEqual({ name: 'ada', visits: 3, profile: { lang: 'en' } });
    expect(await redis.sadd(set, 'a', 'b', 'c', 'a')).toBe(3);
    expect((await redis.smembers(set)).sort()).toEqual(['a', 'b', 'c']);
    expect(await redis.sismember(set, 'b')).toBe(1);
    await redis.zadd(zset, { score: 2.5, member: 'second' }, { score: 1, member: 'first' });
    expect(await redis.zincrby(zset, 10, 'first')).toBe(11);
    expect(await redis.zscore(zset, 'second')).toBe(2.5);
    expect(await redis.zrange(zset, 0, -1, { withScores: true })).toEqual(['second', 2.5, 'first', 11]);
  });

  it('expires keys', async () => {
    const [lasting, short] = [freshKey('ttl'), freshKey('px')];
    await redis.set(lasting, 'v', { ex: 100 });
    const ttl = await redis.ttl(lasting);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.persist(lasting)).toBe(1);
    expect(await redis.ttl(lasting)).toBe(-1);
    await redis.set(short, 'gone soon', { px: 50 });
    await eventually(async () => expect(await redis.get(short)).toBeNull(), 5_000);
  });

  it('loses no increments under 50 concurrent callers', async () => {
    const key = freshKey('counter');
    const callers = Array.from({ length: 50 }, () => clientFor(stack, { enableAutoPipelining: false }));
    const seen = (await Promise.all(callers.map(async (caller) => [await caller.incr(key), await caller.incr(key)]))).flat();
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const batched = await Promise.all(Array.from({ length: 50 }, () => redis.incr(key)));
    expect(batched.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 101));
    expect(await redis.get(key)).toBe(150);
  });

  it('runs pipelines in order and reports a failing command in place', async () => {
    const [a, text] = [freshKey('pa'), freshKey('pt')];
    const results = await redis.pipeline().set(a, 1).incr(a).get(a).hset(freshKey('ph'), { f: 'v' }).exec();
    expect(results).toEqual(['OK', 2, 2, 1]);
    const kept = await redis.pipeline().set(text, 'abc').incr(text).get(text).exec({ keepErrors: true });
    expect(kept.map((entry) => entry.result)).toEqual(['OK', undefined, 'abc']);
    expect(kept[1]?.error).toMatch(/not an integer/);
    await expect(redis.pipeline().set(text, 'abc').incr(text).exec()).rejects.toThrow(/Command 2 \[ incr \] failed/);
  });

  it('runs multi-exec transactions, with runtime errors per command and queueing errors discarding all', async () => {
    const [a, text] = [freshKey('ma'), freshKey('mt')];
    expect(await redis.multi().set(a, 10).incrby(a, 5).get(a).exec()).toEqual(['OK', 15, 15]);
    const kept = await redis.multi().set(text, 'x').incr(text).exec({ keepErrors: true });
    expect(kept[0]?.result).toBe('OK');
    expect(kept[1]?.error).toMatch(/not an integer/);
    const discarded = await post(stack, '/multi-exec', JSON.stringify([['SET', a, 'changed'], ['NOSUCHCOMMAND']]));
    expect(discarded.status).toBe(400);
    expect(((await discarded.json()) as { error: string }).error).toMatch(/EXECABORT.*unknown command/);
    expect(await redis.get(a)).toBe(15);
  });

  it('evaluates Lua through EVAL, EVALSHA and SCRIPT LOAD', async () => {
    const key = freshKey('lua');
    const script = "return {redis.call('INCRBY', KEYS[1], ARGV[1]), ARGV[2], {'OK', 7}}";
    expect(await redis.eval(script, [key], ['5', 'tag'])).toEqual([5, 'tag', ['OK', 7]]);
    const sha = await redis.scriptLoad(script);
    expect(await redis.evalsha(sha, [key], ['1', 'again'])).toEqual([6, 'again', ['OK', 7]]);
    // A fresh script is not cached: exec() meets NOSCRIPT from EVALSHA and falls back to EVAL.
    const fresh = redis.createScript(`return redis.call('GET', KEYS[1]) .. '${freshKey('salt')}'`);
    expect(String(await fresh.exec([key], []))).toMatch(/^6test:salt:/);
  });

  it('accepts Upstash-only shebang flags, as Upstash does, and still serves the script by its original SHA1', async () => {
    const key = freshKey('flags');
    const script = `#!lua flags=allow-key-locking,allow-oom\nreturn redis.call('INCR', KEYS[1])`;
    const flagged = redis.createScript(script);
    expect(await flagged.exec([key], [])).toBe(1);
    // The second run goes by EVALSHA of the client's own digest of the unmodified script.
    const second = await observeRequests(async () => {
      expect(await flagged.exec([key], [])).toBe(2);
    });
    expect(second).toHaveLength(1);
  });

  it('lets @upstash/ratelimit (whose scripts carry such flags) actually limit', async () => {
    const limiter = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(3, '60 s'), prefix: freshKey('rl'), analytics: false });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await limiter.limit('caller'));
    expect(results.map((r) => r.success)).toEqual([true, true, true, false, false]);
    expect(results.map((r) => r.reason)).not.toContain('timeout');
  });

  it('batches commands to /pipeline with auto-pipelining, to / without it, and echoes the sync token', async () => {
    const key = freshKey('ap');
    // The SDK keeps reads and writes in separate batches: these are all writes, so one request.
    let written: unknown[] = [];
    const batched = await observeRequests(async () => {
      written = await Promise.all([redis.set(key, 1), redis.incr(key), redis.incrby(key, 1)]);
    });
    expect(written).toEqual(['OK', 2, 3]);
    expect(batched.map((request) => request.path)).toEqual(['/pipeline']);
    const plain = clientFor(stack, { enableAutoPipelining: false });
    let values: unknown[] = [];
    const single = await observeRequests(async () => {
      values = [await plain.incr(key), await plain.get(key)];
    });
    expect(values).toEqual([4, 4]);
    expect(single.map((request) => request.path)).toEqual(['/', '/']);
    expect(single[0]?.syncToken).toBe('');
    // The second request hands back the token the first response carried.
    expect(single[1]?.syncToken).toMatch(/^\S+$/);
    expect(plain.readYourWritesSyncToken).toMatch(/^\S+$/);
  });

  it('turns a bad token into a client error', async () => {
    const intruder = clientFor(stack, { token: 'not-the-token', enableAutoPipelining: false });
    await expect(intruder.get('anything')).rejects.toThrow(errors.UpstashError);
    await expect(intruder.get('anything')).rejects.toThrow(/Unauthorized/);
  });
});

describe('Upstash REST stand-in over raw HTTP', () => {
  let stack: UpstashStack;
  beforeAll(async () => {
    stack = await startUpstashStack();
  });
  afterAll(() => stack?.stop());

  const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

  it('demands the bearer token', async () => {
    const missing = await fetch(`${stack.restUrl}/`, { method: 'POST', body: '["PING"]' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: 'Unauthorized' });
    const wrong = await post(stack, '/', '["PING"]', { authorization: `Bearer ${stack.token}x` });
    expect(wrong.status).toBe(401);
    const queryOnly = await fetch(`${stack.restUrl}/?_token=${stack.token}`, { method: 'POST', body: '["PING"]' });
    expect(queryOnly.status).toBe(401);
  });

  it('refuses malformed bodies, unknown paths, wrong methods and oversized bodies with reasons', async () => {
    const cases: [string, string, number, RegExp][] = [
      ['/', '["SET","k"', 400, /malformed JSON/],
      ['/', '{"command":"GET"}', 400, /JSON array/],
      ['/', '[]', 400, /empty/],
      ['/', '[42]', 400, /command name/],
      ['/', '["GET",{"a":1}]', 400, /argument 1/],
      ['/pipeline', '[]', 400, /pipeline is empty/],
      ['/pipeline', '[["GET","k"],"GET"]', 400, /command 2/],
      ['/', '["BLPOP","queue",0]', 400, /BLPOP blocks/],
      ['/', '["XREAD","BLOCK","0","STREAMS","s","$"]', 400, /XREAD blocks/],
      ['/', '["SUBSCRIBE","news"]', 400, /SUBSCRIBE is not supported/],
      ['/subscribe/news', '[]', 400, /SUBSCRIBE streams are not supported/],
      ['/', '["NOSUCHCOMMAND"]', 400, /^ERR unknown command/],
      ['/nowhere', '["PING"]', 404, /unknown path/],
    ];
    for (const [path, body, status, reason] of cases) {
      const response = await post(stack, path, body);
      expect({ path, body, status: response.status }).toEqual({ path, body, status });
      expect(await errorOf(response)).toMatch(reason);
    }
    const getRoot = await fetch(`${stack.restUrl}/`, { headers: { authorization: `Bearer ${stack.token}` } });
    expect(getRoot.status).toBe(405);
    expect(getRoot.headers.get('allow')).toBe('POST');
    const huge = await post(stack, '/', JSON.stringify(['SET', 'big', 'x'.repeat(11 * 1024 * 1024)]));
    expect(huge.status).toBe(413);
    const afterHuge = await post(stack, '/', '["EXISTS","big"]');
    expect(await afterHuge.json()).toEqual({ result: 0 });
  });

  it('encodes replies as base64 only when asked, keeping a top-level OK and exact bytes', async () => {
    const base64 = { 'upstash-encoding': 'base64' };
    const set = await post(stack, '/', '["SET","word","é ok"]', base64);
    expect(await set.json()).toEqual({ result: 'OK' });
    expect(set.headers.get('upstash-sync-token')).toMatch(/^\S+$/);
    expect(await (await post(stack, '/', '["GET","word"]', base64)).json()).toEqual({
      result: Buffer.from('é ok').toString('base64'),
    });
    // The first byte of "é" alone is not valid UTF-8: only base64 can carry it exactly.
    expect(await (await post(stack, '/', '["GETRANGE","word",0,0]', base64)).json()).toEqual({ result: 'ww==' });
    expect(await (await post(stack, '/', '["GET","word"]')).json()).toEqual({ result: 'é ok' });
    const pipeline = await post(stack, '/pipeline', '[["RPUSH","l","OK",7],["LRANGE","l",0,-1],["INCR","word"],["GET","none"]]', base64);
    expect(await pipeline.json()).toEqual([
      { result: 2 },
      { result: ['T0s=', 'Nw=='] },
      { error: 'ERR value is not an integer or out of range' },
      { result: null },
    ]);
  });

  it('reports health from a PING', async () => {
    const health = await fetch(`${stack.restUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});

describe('Upstash REST stand-in while Redis is down', () => {
  let stack: UpstashStack;
  beforeAll(async () => {
    stack = await startUpstashStack();
  });
  afterAll(() => stack?.stop());

  it('answers 503 at once and recovers by itself when Redis comes back', async () => {
    const redis = clientFor(stack, { enableAutoPipelining: false });
    await redis.set('before', 'outage');
    await stack.stopRedis();

    await expect(redis.get('before')).rejects.toThrow(/unavailable/);
    const direct = await post(stack, '/pipeline', '[["GET","before"]]');
    expect(direct.status).toBe(503);
    expect(((await direct.json()) as { error: string }).error).toMatch(/redis at 127\.0\.0\.1:\d+ is unavailable/);
    expect((await fetch(`${stack.restUrl}/health`)).status).toBe(503);

    await stack.startRedis();
    await eventually(() => redis.set('after', 'recovered'), 10_000);
    expect(await redis.get('after')).toBe('recovered');
    // Nothing is persisted, so the new Redis starts empty.
    expect(await redis.get('before')).toBeNull();
    expect((await fetch(`${stack.restUrl}/health`)).status).toBe(200);
  });
});

describe('startUpstashStack', () => {
  it('stops idempotently and leaves no redis-server listening', async () => {
    const stack = await startUpstashStack();
    expect(await acceptsConnections(stack.redisPort)).toBe(true);
    await Promise.all([stack.stop(), stack.stop()]);
    await stack.stop();
    expect(await acceptsConnections(stack.redisPort)).toBe(false);
    await expect(fetch(`${stack.restUrl}/health`)).rejects.toThrow();
  });
});

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('Upstash REST stand-in as a process (main.ts)', () => {
  const mainPath = new URL('../../infra/local/upstash-rest/main.ts', import.meta.url).pathname;

  function runMain(env: Record<string, string | undefined>) {
    const childEnv = { ...process.env, ...env };
    for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name];
    return spawn(process.execPath, [mainPath], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  it('refuses to start without a token, naming the variable', async () => {
    const child = runMain({ UPSTASH_REDIS_REST_TOKEN: undefined });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toMatch(/UPSTASH_REDIS_REST_TOKEN is required/);
  });

  it('serves on the configured port, logs its URL without the token and stops on SIGTERM', async () => {
    const stack = await startUpstashStack();
    const port = await closedPort();
    const token = 'main-process-token-1234';
    const child = runMain({ UPSTASH_REDIS_REST_TOKEN: token, REDIS_URL: stack.redisUrl, UPSTASH_STANDIN_PORT: String(port) });
    try {
      const [firstLine] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      expect(firstLine).not.toContain(token);
      const started = JSON.parse(firstLine) as { event: string; url: string };
      expect(started).toMatchObject({ event: 'listening', url: `http://127.0.0.1:${port}` });
      const redis = new Redis({ url: started.url, token, enableTelemetry: false, retry: false });
      await redis.set('via-main', { ok: true });
      expect(await redis.get('via-main')).toEqual({ ok: true });
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await stack.stop();
    }
  });
});
