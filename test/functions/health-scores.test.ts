// Provider health against a real redis-server, through the Upstash REST stand-in, with the real @upstash/redis client.
import { createRedis, type Redis } from '../../functions/redis/client.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROVIDER_IDS } from '../../functions/contract.ts';
import type { ProviderId, ProviderOutcome } from '../../functions/contract.ts';
import { DEFAULT_HEALTH_POLICY } from '../../functions/health/policy.ts';
import type { HealthPolicy } from '../../functions/health/policy.ts';
import { healthKey, readHealth, recordOutcomes, resetHealth } from '../../functions/health/scores.ts';
import type { ProviderHealth } from '../../functions/health/types.ts';
import { startUpstashStack } from '../support/redis.ts';

const policy: HealthPolicy = { ...DEFAULT_HEALTH_POLICY };
const T0_MS = 1_800_000_000_000;

let stack: Awaited<ReturnType<typeof startUpstashStack>>;
let redis: Redis;

function client(): Redis {
  // The production client configuration (no auto-deserialization, bounded time), not a friendlier one.
  return createRedis({ url: stack.restUrl, token: stack.token, timeoutMs: 5_000 });
}

beforeAll(async () => {
  stack = await startUpstashStack();
  redis = client();
});

afterAll(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await redis.flushdb();
});

const ok = (provider: string, ttfbMs?: number): ProviderOutcome => ({
  modality: 'llm',
  provider,
  ok: true,
  durationMs: (ttfbMs ?? 0) + 50,
  ...(ttfbMs === undefined ? {} : { ttfbMs }),
});
const fail = (provider: string, errorClass: ProviderOutcome['errorClass'] = 'transient'): ProviderOutcome => ({
  modality: 'llm',
  provider,
  ok: false,
  errorClass,
  durationMs: 10,
});

/** The EWMA the policy defines: the first sample seeds it, then each sample weighs alpha. */
function ewma(samples: number[], alpha = policy.ewmaAlpha): number {
  let value: number | undefined;
  for (const s of samples) value = value === undefined ? s : alpha * s + (1 - alpha) * value;
  if (value === undefined) throw new Error('no samples');
  return value;
}

async function healthOf(id: ProviderId, nowMs: number, p: HealthPolicy = policy): Promise<ProviderHealth> {
  const found = (await readHealth(redis, nowMs, p)).find((h) => h.id === id);
  if (!found) throw new Error(`readHealth did not return ${id}`);
  return found;
}

describe('recordOutcomes', () => {
  it('folds a batch into counts, EWMAs and the latency histogram exactly', async () => {
    const batch: ProviderOutcome[] = [
      ok('openai', 120),
      ok('openai', 300),
      fail('openai', 'timeout'),
      ok('openai', 2500),
      ok('openai'), // a success without a first byte counts, but not towards latency
      { modality: 'stt', provider: 'deepgram', ok: true, ttfbMs: 80, durationMs: 900 },
    ];
    expect(await recordOutcomes(redis, batch, T0_MS, policy)).toEqual({ applied: 6, skipped: 0 });

    const openai = await healthOf('llm:openai', T0_MS);
    expect(openai.successes).toBe(4);
    expect(openai.failures).toBe(1);
    expect(openai.consecutiveFailures).toBe(0);
    expect(openai.latencyEwmaMs).toBeCloseTo(ewma([120, 300, 2500]), 9);
    // The spread: each sample's distance from the average before it, from the second sample on.
    const mean2 = ewma([120, 300]);
    expect(openai.latencyDeviationMs).toBeCloseTo(ewma([Math.abs(300 - 120), Math.abs(2500 - mean2)]), 9);
    expect(openai.errorRate).toBeCloseTo(ewma([0, 0, 1, 0, 0]), 12);
    expect(openai.lastErrorClass).toBe('timeout');
    expect(openai.lastErrorAtMs).toBe(T0_MS);
    expect(openai.updatedAtMs).toBe(T0_MS);
    expect(openai.circuit).toBe('closed');
    expect(openai.latency.count).toBe(3);
    expect(openai.latency.sumMs).toBeCloseTo(2920, 9);
    expect(openai.latency.buckets).toEqual([
      { leMs: 100, count: 0 },
      { leMs: 250, count: 1 },
      { leMs: 500, count: 2 },
      { leMs: 1000, count: 2 },
      { leMs: 2000, count: 2 },
      { leMs: 5000, count: 3 },
      { leMs: 10_000, count: 3 },
      { leMs: Number.POSITIVE_INFINITY, count: 3 },
    ]);

    const deepgram = await healthOf('stt:deepgram', T0_MS);
    expect(deepgram).toMatchObject({ successes: 1, failures: 0, latencyEwmaMs: 80, latencyDeviationMs: null, errorRate: 0, lastErrorClass: null });
    expect(deepgram.latency.buckets[0]).toEqual({ leMs: 100, count: 1 });

    // A second batch continues from the stored values, not from scratch.
    await recordOutcomes(redis, [ok('openai', 12_000), fail('openai')], T0_MS + 1000, policy);
    const later = await healthOf('llm:openai', T0_MS + 1000);
    expect(later.latencyEwmaMs).toBeCloseTo(ewma([120, 300, 2500, 12_000]), 9);
    expect(later.errorRate).toBeCloseTo(ewma([0, 0, 1, 0, 0, 0, 1]), 12);
    expect(later.consecutiveFailures).toBe(1);
    expect(later.lastErrorClass).toBe('transient');
    expect(later.latency.buckets.at(-2)).toEqual({ leMs: 10_000, count: 3 });
    expect(later.latency.buckets.at(-1)).toEqual({ leMs: Number.POSITIVE_INFINITY, count: 4 });
  });

  it('loses no counts when 20 workers report 10 outcomes each at once', async () => {
    const names = ['openai', 'anthropic', 'groq'] as const;
    const batches = Array.from({ length: 20 }, (_, w) =>
      Array.from({ length: 10 }, (_, j): ProviderOutcome => {
        const provider = names[(w + j) % names.length] as string;
        return (w * 10 + j) % 4 === 0 ? fail(provider) : ok(provider, 100 + w * 10 + j);
      }),
    );
    const expected = new Map<string, { successes: number; failures: number; sumMs: number }>();
    for (const o of batches.flat()) {
      const e = expected.get(o.provider) ?? { successes: 0, failures: 0, sumMs: 0 };
      if (o.ok) {
        e.successes++;
        e.sumMs += o.ttfbMs ?? 0;
      } else e.failures++;
      expected.set(o.provider, e);
    }

    const results = await Promise.all(batches.map((batch) => recordOutcomes(client(), batch, T0_MS, policy)));
    expect(results.every((r) => r.applied === 10)).toBe(true);

    const all = await readHealth(redis, T0_MS, policy);
    let total = 0;
    for (const name of names) {
      const h = all.find((x) => x.id === `llm:${name}`);
      const e = expected.get(name);
      expect(h?.successes).toBe(e?.successes);
      expect(h?.failures).toBe(e?.failures);
      expect(h?.latency.count).toBe(e?.successes);
      expect(h?.latency.sumMs).toBeCloseTo(e?.sumMs ?? -1, 6);
      expect(h?.latency.buckets.at(-1)?.count).toBe(e?.successes);
      total += (h?.successes ?? 0) + (h?.failures ?? 0);
    }
    expect(total).toBe(200);
  });

  it('skips outcomes for providers unknown to their modality and writes nothing for them', async () => {
    const result = await recordOutcomes(
      redis,
      [{ modality: 'tts', provider: 'deepgram', ok: true, durationMs: 5 }, ok('anthropic', 200)],
      T0_MS,
      policy,
    );
    expect(result).toEqual({ applied: 1, skipped: 1 });
    expect((await redis.keys('health:*')).sort()).toEqual([healthKey('llm', 'anthropic')]);
    expect(await recordOutcomes(redis, [], T0_MS, policy)).toEqual({ applied: 0, skipped: 0 });
  });

  it('sets a TTL on each key and refreshes it on every update', async () => {
    const shortLived = { ...policy, keyTtlMs: 60_000 };
    await recordOutcomes(redis, [ok('groq', 50)], T0_MS, shortLived);
    const key = healthKey('llm', 'groq');
    const firstTtlMs = await redis.pttl(key);
    expect(firstTtlMs).toBeGreaterThan(50_000);
    expect(firstTtlMs).toBeLessThanOrEqual(60_000);

    await redis.pexpire(key, 2000);
    await recordOutcomes(redis, [fail('groq')], T0_MS + 1, shortLived);
    expect(await redis.pttl(key)).toBeGreaterThan(50_000);

    await recordOutcomes(redis, [ok('openai', 50)], T0_MS, policy);
    const defaultTtlMs = await redis.pttl(healthKey('llm', 'openai'));
    expect(defaultTtlMs).toBeGreaterThan(policy.keyTtlMs - 60_000);
    expect(defaultTtlMs).toBeLessThanOrEqual(policy.keyTtlMs);
  });
});

describe('circuit', () => {
  const breaker: HealthPolicy = { ...policy, openAfterConsecutiveFailures: 3, coolDownMs: 1000 };

  it('opens after N consecutive failures, reads half-open after the cool-down, re-opens on failure, closes on success', async () => {
    await recordOutcomes(redis, [fail('openai'), fail('openai')], T0_MS, breaker);
    expect((await healthOf('llm:openai', T0_MS, breaker)).circuit).toBe('closed');

    await recordOutcomes(redis, [fail('openai', 'permanent')], T0_MS, breaker);
    let h = await healthOf('llm:openai', T0_MS, breaker);
    expect(h).toMatchObject({ circuit: 'open', circuitOpenedAtMs: T0_MS, consecutiveFailures: 3 });
    expect((await healthOf('llm:openai', T0_MS + 999, breaker)).circuit).toBe('open');
    expect((await healthOf('llm:openai', T0_MS + 1000, breaker)).circuit).toBe('half-open');

    // Failures while still cooling down (a last resort tried anyway) do not extend the rest.
    await recordOutcomes(redis, [fail('openai')], T0_MS + 500, breaker);
    expect((await healthOf('llm:openai', T0_MS + 1000, breaker)).circuitOpenedAtMs).toBe(T0_MS);

    // The probe fails: open again from now.
    await recordOutcomes(redis, [fail('openai')], T0_MS + 1500, breaker);
    h = await healthOf('llm:openai', T0_MS + 1500, breaker);
    expect(h).toMatchObject({ circuit: 'open', circuitOpenedAtMs: T0_MS + 1500 });
    expect((await healthOf('llm:openai', T0_MS + 2499, breaker)).circuit).toBe('open');
    expect((await healthOf('llm:openai', T0_MS + 2500, breaker)).circuit).toBe('half-open');

    // The probe succeeds: closed, and it takes N fresh failures to open it again.
    await recordOutcomes(redis, [ok('openai', 300)], T0_MS + 2500, breaker);
    h = await healthOf('llm:openai', T0_MS + 2500, breaker);
    expect(h).toMatchObject({ circuit: 'closed', circuitOpenedAtMs: null, consecutiveFailures: 0 });
    await recordOutcomes(redis, [fail('openai'), fail('openai')], T0_MS + 2600, breaker);
    expect((await healthOf('llm:openai', T0_MS + 2600, breaker)).circuit).toBe('closed');
  });

  it('a success while still cooling down leaves the circuit open', async () => {
    await recordOutcomes(redis, [fail('groq'), fail('groq'), fail('groq'), ok('groq', 100)], T0_MS, breaker);
    expect(await healthOf('llm:groq', T0_MS + 10, breaker)).toMatchObject({ circuit: 'open', circuitOpenedAtMs: T0_MS });
  });

  it('opens on an error rate above the threshold once there are enough samples', async () => {
    const byRate: HealthPolicy = { ...policy, openAfterConsecutiveFailures: 1000 };
    const nineFailures = Array.from({ length: byRate.minSamplesForErrorRate - 1 }, () => fail('anthropic'));
    await recordOutcomes(redis, nineFailures, T0_MS, byRate);
    expect((await healthOf('llm:anthropic', T0_MS, byRate)).circuit).toBe('closed');

    await recordOutcomes(redis, [fail('anthropic')], T0_MS + 1, byRate);
    const h = await healthOf('llm:anthropic', T0_MS + 1, byRate);
    expect(h.errorRate).toBeGreaterThan(byRate.openAboveErrorRate);
    expect(h).toMatchObject({ circuit: 'open', circuitOpenedAtMs: T0_MS + 1 });
  });
});

describe('readHealth', () => {
  it('returns every provider, with defaults for those never seen', async () => {
    await recordOutcomes(redis, [ok('openai', 100)], T0_MS, policy);
    const all = await readHealth(redis, T0_MS, policy);
    expect(all.map((h) => h.id)).toEqual(PROVIDER_IDS);

    const unseen = all.find((h) => h.id === 'tts:elevenlabs');
    expect(unseen).toEqual({
      id: 'tts:elevenlabs',
      modality: 'tts',
      provider: 'elevenlabs',
      successes: 0,
      failures: 0,
      latencyEwmaMs: null,
      latencyDeviationMs: null,
      errorRate: 0,
      lastErrorClass: null,
      lastErrorAtMs: null,
      consecutiveFailures: 0,
      circuit: 'closed',
      circuitOpenedAtMs: null,
      updatedAtMs: null,
      latency: {
        buckets: [...policy.latencyBucketsMs.map((leMs) => ({ leMs, count: 0 })), { leMs: Number.POSITIVE_INFINITY, count: 0 }],
        count: 0,
        sumMs: 0,
      },
    });
    expect(all.find((h) => h.id === 'llm:openai')?.successes).toBe(1);
  });

  it('resetHealth forgets one provider and leaves the others', async () => {
    await recordOutcomes(redis, [fail('openai'), ok('groq', 90)], T0_MS, policy);
    await resetHealth(redis, 'llm:openai');
    const all = await readHealth(redis, T0_MS, policy);
    expect(all.find((h) => h.id === 'llm:openai')?.failures).toBe(0);
    expect(all.find((h) => h.id === 'llm:groq')?.successes).toBe(1);
  });
});
