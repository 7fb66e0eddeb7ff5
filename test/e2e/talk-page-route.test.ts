// The talk page's routes in workerd, without a browser: off by default (no page, no token), and when on, a token only
// for the page's own origin (Origin and Sec-Fetch-Site checked, no CORS ever answered), for a `talk-` room under a
// random identity that may publish the microphone only, short-lived, and rate limited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFunctions, testBindings, type FunctionsHandle } from '../support/functions.ts';
import { startUpstashStack, type UpstashStack } from '../support/redis.ts';
import { decodeJwtPayload } from './talk-page/jwt.ts';

let stack: UpstashStack | undefined;
let on: FunctionsHandle | undefined;
let off: FunctionsHandle | undefined;

beforeAll(async () => {
  stack = await startUpstashStack();
  const redis = { UPSTASH_REDIS_REST_URL: stack.restUrl, UPSTASH_REDIS_REST_TOKEN: stack.token };
  [on, off] = await Promise.all([
    startFunctions(testBindings({ ...redis, TALK_PAGE: 'on', RATE_LIMIT_PER_IP_PER_MINUTE: '3' })),
    startFunctions(testBindings(redis)),
  ]);
});

afterAll(async () => {
  await Promise.allSettled([on?.dispose(), off?.dispose()]);
  await stack?.stop();
});

/** POST /v1/page/token on the instance's real HTTP origin (the check compares Origin with it). */
function mint(fn: FunctionsHandle, headers: Record<string, string>, body = '{}', ip = '198.51.100.7'): Promise<Response> {
  return fetch(`${fn.url}/v1/page/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip, ...headers },
    body,
  });
}

describe('TALK_PAGE unset (production default)', () => {
  it('serves no page and mints no token', async () => {
    expect((await fetch(`${off!.url}/`)).status).toBe(404);
    expect((await fetch(`${off!.url}/app.js`)).status).toBe(404);
    const res = await mint(off!, { origin: off!.url, 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(404);
  });

  it('names the variable when its value is wrong', async () => {
    const bad = await startFunctions(testBindings({ UPSTASH_REDIS_REST_URL: stack!.restUrl, UPSTASH_REDIS_REST_TOKEN: stack!.token, TALK_PAGE: 'yes' }));
    try {
      const res = await fetch(`${bad.url}/`);
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toContain('TALK_PAGE');
      expect(body.error.message).toContain('"on" or "off"');
    } finally {
      await bad.dispose();
    }
  });
});

describe('TALK_PAGE=on', () => {
  it('serves the page with a strict content security policy, and no secret in it', async () => {
    const res = await fetch(`${on!.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    const js = await (await fetch(`${on!.url}/app.js`)).text();
    expect(js.length).toBeGreaterThan(10_000);
    for (const secret of ['secret', 'test-app-key-1', 'test-worker-token-secret-of-enough-length']) {
      expect(html).not.toContain(secret);
      expect(js).not.toContain(`"${secret}"`);
    }
    const etag = res.headers.get('etag') ?? '';
    expect((await fetch(`${on!.url}/`, { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it('mints a short-lived microphone-only token for a random talk- room, for the same origin', async () => {
    const res = await mint(on!, { origin: on!.url, 'sec-fetch-site': 'same-origin' }, '{}', '198.51.100.1');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const body = (await res.json()) as { token: string; url: string; room: string; identity: string; expiresAt: string };
    expect(body.room).toMatch(/^talk-[0-9a-f]{16}$/);
    expect(body.identity).toMatch(/^web-[0-9a-f]{12}$/);
    const claims = decodeJwtPayload(body.token) as { exp: number; nbf?: number; iat?: number; video: Record<string, unknown>; sub: string };
    expect(claims.sub).toBe(body.identity);
    expect(claims.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(300);
    expect(claims.video).toMatchObject({ room: body.room, roomJoin: true, canPublish: true, canPublishData: true, canSubscribe: true, canPublishSources: ['microphone'] });
    expect(claims.video['roomAdmin']).toBeUndefined();

    const given = (await (await mint(on!, { origin: on!.url }, JSON.stringify({ room: 'talk-demo' }), '198.51.100.1')).json()) as { room: string };
    expect(given.room).toBe('talk-demo');
  });

  it('refuses rooms that are not the page\'s own', async () => {
    const res = await mint(on!, { origin: on!.url }, JSON.stringify({ room: 'customer-room' }), '198.51.100.2');
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('talk-');
  });

  it('refuses another origin (403), a cross-site fetch, a request with no Origin, and answers no CORS preflight', async () => {
    const evil = await mint(on!, { origin: 'https://evil.example' }, '{}', '198.51.100.3');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await evil.json()) as { error: { code: string } }).error.code).toBe('cross_origin');
    expect((await mint(on!, { origin: on!.url, 'sec-fetch-site': 'cross-site' }, '{}', '198.51.100.3')).status).toBe(403);
    expect((await mint(on!, { origin: on!.url, 'sec-fetch-site': 'same-site' }, '{}', '198.51.100.3')).status).toBe(403);
    expect((await mint(on!, {}, '{}', '198.51.100.3')).status).toBe(403);
    const preflight = await fetch(`${on!.url}/v1/page/token`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
    // A "simple" cross-origin form post (text/plain, no preflight) is refused too.
    const simple = await mint(on!, { origin: on!.url, 'content-type': 'text/plain' }, '{}', '198.51.100.3');
    expect(simple.status).toBe(415);
  });

  it('rate limits per client IP with retry-after', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await mint(on!, { origin: on!.url }, '{}', '203.0.113.9')).status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses[3]).toBe(429);
    const limited = await mint(on!, { origin: on!.url }, '{}', '203.0.113.9');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another visitor is not held up by the first.
    expect((await mint(on!, { origin: on!.url }, '{}', '203.0.113.10')).status).toBe(200);
  });
});
