// GET /health and GET /metrics inside workerd, against real Redis, a fake LiveKit RoomService and the real local
// launcher: each dependency taken away in turn, and no secret from the bindings ever in a body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../functions/contract.ts';
import type { FunctionsHandle } from '../support/functions.ts';
import { operatorAuth, postWebhook, startControlPlane, startHoldingProxy, startSiblingFunctions, type ControlPlane } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';

interface Check {
  ok: boolean;
  latencyMs: number;
  detail: string;
}
interface HealthBody {
  status: string;
  checks: { redis: Check; livekit: Check; launcher: Check };
}

const METRICS_TOKEN = 'metrics-token-for-tests';

/** Every secret in the test bindings (testBindings' defaults plus the Redis token). */
function secretsOf(cp: ControlPlane): string[] {
  return [
    '"secret"', // LIVEKIT_API_SECRET as a JSON value (the bare word may appear in prose)
    cp.stack.token,
    'test-app-key-1',
    'test-app-key-2',
    'test-worker-token-secret-of-enough-length',
    METRICS_TOKEN,
  ];
}

function expectNoSecrets(cp: ControlPlane, text: string): void {
  for (const secret of secretsOf(cp)) expect(text).not.toContain(secret);
}

async function getHealth(cp: ControlPlane): Promise<{ status: number; body: HealthBody }> {
  const res = await cp.fn.fetch('/health/deep', { headers: operatorAuth });
  const text = await res.text();
  expectNoSecrets(cp, text);
  return { status: res.status, body: JSON.parse(text) as HealthBody };
}

describe('GET /health', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane();
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('answers 200 when Redis, LiveKit and the launcher all answer', async () => {
    const { status, body } = await getHealth(cp);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.checks.redis).toMatchObject({ ok: true, detail: 'PONG' });
    expect(body.checks.livekit.ok).toBe(true);
    expect(body.checks.launcher.ok).toBe(true);
    expect(body.checks.launcher.detail).toContain('local');
  });

  it('answers 503 with only redis failing while Redis is stopped, and recovers when it is back', async () => {
    await cp.stack.stopRedis();
    try {
      // The Redis check is bounded by REDIS_TIMEOUT_MS: the request answers instead of waiting on Redis.
      const { status, body } = await getHealth(cp);
      expect(status).toBe(503);
      expect(body.status).toBe('unhealthy');
      expect(body.checks.redis.ok).toBe(false);
      expect(body.checks.redis.detail.length).toBeGreaterThan(0);
      expect(body.checks.livekit.ok).toBe(true);
      expect(body.checks.launcher.ok).toBe(true);
    } finally {
      await cp.stack.startRedis();
    }
    const back = await waitFor('/health to be 200 again', async () => {
      const h = await getHealth(cp);
      return h.status === 200 ? h : undefined;
    });
    expect(back.body.checks.redis.ok).toBe(true);
  });

  it('answers 503 instead of waiting when the Redis endpoint accepts the request and never replies', async () => {
    const silent = await startHoldingProxy(cp.stack.restUrl);
    silent.holding = true;
    const fn = await startSiblingFunctions(cp, { UPSTASH_REDIS_REST_URL: silent.url, REDIS_TIMEOUT_MS: '300' });
    try {
      const res = await fn.fetch('/health/deep', { headers: operatorAuth });
      const text = await res.text();
      expectNoSecrets(cp, text);
      const body = JSON.parse(text) as HealthBody;
      expect(res.status).toBe(503);
      expect(body.checks.redis.ok).toBe(false);
      expect(body.checks.livekit.ok).toBe(true);
      expect(body.checks.launcher.ok).toBe(true);
      // The ping did reach the endpoint: it was cut by the deadline, not refused.
      expect(silent.held).toBeGreaterThanOrEqual(1);
    } finally {
      await fn.dispose();
      await silent.close();
    }
  });

  it('answers 503 with only livekit failing while LiveKit answers errors', async () => {
    cp.livekit.failing = true;
    try {
      const { status, body } = await getHealth(cp);
      expect(status).toBe(503);
      expect(body.checks.livekit.ok).toBe(false);
      expect(body.checks.redis.ok).toBe(true);
      expect(body.checks.launcher.ok).toBe(true);
    } finally {
      cp.livekit.failing = false;
    }
    expect((await getHealth(cp)).status).toBe(200);
  });
});

describe('GET /health with the launcher stopped', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane();
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('answers 503 with only launcher failing', async () => {
    expect((await getHealth(cp)).status).toBe(200);
    await cp.launcher.stop();
    const { status, body } = await getHealth(cp);
    expect(status).toBe(503);
    expect(body.checks.launcher.ok).toBe(false);
    expect(body.checks.launcher.detail).toMatch(/unreachable/);
    expect(body.checks.redis.ok).toBe(true);
    expect(body.checks.livekit.ok).toBe(true);
  });
});

describe('GET /metrics', () => {
  let cp: ControlPlane;
  let guarded: FunctionsHandle;
  beforeAll(async () => {
    cp = await startControlPlane();
    guarded = await startSiblingFunctions(cp, { METRICS_TOKEN });
  });
  afterAll(async () => {
    await guarded?.dispose();
    await cp?.close();
  });

  async function scrape(): Promise<string> {
    const res = await cp.fn.fetch('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expectNoSecrets(cp, text);
    return text;
  }

  /** The value of one series, 0 when it is not there yet (a counter nobody has touched). */
  function valueOf(text: string, series: string): number {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.slice(series.length + 1));
  }

  it('serves Prometheus text with types, active sessions and every provider', async () => {
    const text = await scrape();
    expect(text).toMatch(/^# HELP voice_sessions_active /m);
    expect(text).toContain('# TYPE voice_sessions_active gauge');
    expect(text).toMatch(/^voice_sessions_active \d+$/m);
    expect(text).toContain('# TYPE voice_provider_requests_total counter');
    const pairs = Object.entries(PROVIDERS).flatMap(([modality, names]) => names.map((provider) => ({ modality, provider })));
    expect(pairs).toHaveLength(7);
    for (const { modality, provider } of pairs) {
      for (const outcome of ['success', 'failure']) {
        const series = `voice_provider_requests_total{modality="${modality}",outcome="${outcome}",provider="${provider}"}`;
        expect(text).toMatch(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} \\d+$`, 'm'));
      }
    }
    // Every sample line belongs to a family announced by a # TYPE line.
    const typed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      const name = (line.split(/[{ ]/, 1)[0] ?? '').replace(/_(bucket|sum|count)$/, '');
      expect(typed.has(name) || typed.has(line.split(/[{ ]/, 1)[0] ?? ''), `untyped sample: ${line}`).toBe(true);
    }
  });

  it('counts a webhook delivery and the session it opened', async () => {
    const series = 'voice_webhook_events_total{event="participant_joined",result="launching"}';
    const before = await scrape();
    const body = webhookBody({ event: 'participant_joined', room: { name: 'metrics-room' }, participant: { identity: 'metrics-caller' } });
    const res = await postWebhook(cp.fn, body, await signWebhook(body));
    expect(((await res.json()) as { action: string }).action).toBe('launching');

    // Counters are written after the response (waitUntil): poll, bounded.
    const after = await waitFor('the webhook counter to move', async () => {
      const text = await scrape();
      return valueOf(text, series) === valueOf(before, series) + 1 ? text : undefined;
    });
    expect(after).toContain('# TYPE voice_webhook_events_total counter');
    expect(valueOf(after, 'voice_sessions_active')).toBe(valueOf(before, 'voice_sessions_active') + 1);
    const opened = 'voice_sessions_opened_total{state="stored"}';
    expect(valueOf(after, opened)).toBe(valueOf(before, opened) + 1);
  });

  it('keeps /metrics shut outside development when no METRICS_TOKEN is set', async () => {
    const production = await startSiblingFunctions(cp, { ENVIRONMENT: 'production' });
    try {
      const res = await production.fetch('/metrics');
      expect(res.status).toBe(401);
      expect(await res.text()).toContain('METRICS_TOKEN');
    } finally {
      await production.dispose();
    }
  });

  it('answers a shallow /health to anyone, without touching Redis, and the deep one only to an operator', async () => {
    await cp.stack.stopRedis();
    try {
      const shallow = await cp.fn.fetch('/health');
      expect(shallow.status).toBe(200);
      expect(await shallow.json()).toMatchObject({ status: 'ok' });
    } finally {
      await cp.stack.startRedis();
      await waitFor('Redis back', async () => (await cp.redis.ping().catch(() => null)) === 'PONG');
    }
    expect((await cp.fn.fetch('/health/deep')).status).toBe(401);
    expect((await cp.fn.fetch('/health/deep', { headers: { authorization: 'Bearer test-app-key-1' } })).status).toBe(403);
  });

  it('counts failed authentications in memory, with no Redis write before authentication', async () => {
    const before = Number(await cp.redis.dbsize());
    const forged = webhookBody({ event: 'participant_joined', room: { name: 'flood-room' }, participant: { identity: 'x' } });
    for (let i = 0; i < 20; i++) {
      expect((await postWebhook(cp.fn, forged, 'not-a-signature')).status).toBe(401);
      expect((await cp.fn.fetch('/v1/token', { method: 'POST', headers: { authorization: 'Bearer wrong-key-000' }, body: '{}' })).status).toBe(401);
    }
    // Counters are one hash (already there): nothing new was written, and no counter moved for the refused calls.
    expect(Number(await cp.redis.dbsize())).toBe(before);
    const text = await (await cp.fn.fetch('/metrics')).text();
    expect(text).toMatch(/voice_auth_failures_total\{route="webhook"\} \d+/);
    expect(text).toMatch(/voice_auth_failures_total\{route="token"\} \d+/);
    expect(text).not.toContain('result="unauthorized"');
  });

  it('asks for the bearer token when METRICS_TOKEN is set', async () => {
    expect((await guarded.fetch('/metrics')).status).toBe(401);
    expect((await guarded.fetch('/metrics', { headers: { authorization: 'Bearer not-the-metrics-token' } })).status).toBe(401);
    const res = await guarded.fetch('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('# TYPE voice_sessions_active gauge');
    expectNoSecrets(cp, text);
  });
});
