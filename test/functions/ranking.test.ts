import { describe, expect, it } from 'vitest';
import type { Modality, ProviderId } from '../../functions/contract.ts';
import { DEFAULT_HEALTH_POLICY } from '../../functions/health/policy.ts';
import { rankAll, rankProviders } from '../../functions/health/ranking.ts';
import type { ProviderHealth } from '../../functions/health/types.ts';

const policy = DEFAULT_HEALTH_POLICY;
const NOW_MS = 1_800_000_000_000;

/** A provider with plenty of clean history; override what a case is about. */
function health(modality: Modality, provider: string, over: Partial<ProviderHealth> = {}): ProviderHealth {
  return {
    id: `${modality}:${provider}` as ProviderId,
    modality,
    provider,
    successes: 100,
    failures: 0,
    latencyEwmaMs: 400,
    latencyDeviationMs: 40,
    errorRate: 0,
    lastErrorClass: null,
    lastErrorAtMs: null,
    consecutiveFailures: 0,
    circuit: 'closed',
    circuitOpenedAtMs: null,
    updatedAtMs: NOW_MS - 1000,
    latency: { buckets: [], count: 100, sumMs: 40_000 },
    ...over,
  };
}

const LLM = ['openai', 'anthropic', 'groq'] as const;
const allHealthy = () => LLM.map((p) => health('llm', p));

function tierOf(result: ReturnType<typeof rankProviders>, provider: string) {
  return result.entries.find((e) => e.provider === provider)?.tier;
}

describe('rankProviders', () => {
  it('keeps the configured order when every provider is healthy', () => {
    const result = rankProviders('llm', ['groq', 'openai', 'anthropic'], allHealthy(), policy);
    expect(result.order).toEqual(['groq', 'openai', 'anthropic']);
    expect(result.entries.map((e) => e.tier)).toEqual(['healthy', 'healthy', 'healthy']);
    expect(result.entries[0]?.reasons).toEqual(['healthy']);
  });

  it('keeps the configured order when there is no data at all', () => {
    const result = rankProviders('llm', ['anthropic', 'groq', 'openai'], [], policy, NOW_MS);
    expect(result.order).toEqual(['anthropic', 'groq', 'openai']);
    expect(result.entries.every((e) => e.reasons.includes('no data yet'))).toBe(true);
  });

  it('puts an open circuit last but keeps it listed', () => {
    const h = allHealthy().map((x) =>
      x.provider === 'openai'
        ? { ...x, circuit: 'open' as const, circuitOpenedAtMs: NOW_MS - 1000, consecutiveFailures: 5, lastErrorClass: 'timeout' as const }
        : x,
    );
    const result = rankProviders('llm', ['openai', 'anthropic', 'groq'], h, policy, NOW_MS);
    expect(result.order).toEqual(['anthropic', 'groq', 'openai']);
    expect(tierOf(result, 'openai')).toBe('open');
    expect(result.entries[2]?.reasons.join(' ')).toMatch(/circuit open.*timeout/);
  });

  it('reads an open circuit past its cool-down as half-open: behind healthy ones, ahead of open ones', () => {
    const h = allHealthy().map((x) => {
      if (x.provider === 'openai') return { ...x, circuit: 'open' as const, circuitOpenedAtMs: NOW_MS - policy.coolDownMs };
      if (x.provider === 'anthropic') return { ...x, circuit: 'open' as const, circuitOpenedAtMs: NOW_MS - policy.coolDownMs + 1 };
      return x;
    });
    const result = rankProviders('llm', ['openai', 'anthropic', 'groq'], h, policy, NOW_MS);
    expect(result.order).toEqual(['groq', 'openai', 'anthropic']);
    expect(tierOf(result, 'openai')).toBe('degraded');
    expect(result.entries[1]?.reasons.join(' ')).toMatch(/half-open/);
    expect(tierOf(result, 'anthropic')).toBe('open');
  });

  it('without nowMs takes the circuit as read (readHealth already derived it)', () => {
    const h = allHealthy().map((x) => (x.provider === 'openai' ? { ...x, circuit: 'half-open' as const, circuitOpenedAtMs: 0 } : x));
    const result = rankProviders('llm', ['openai', 'anthropic', 'groq'], h, policy);
    expect(result.order).toEqual(['anthropic', 'groq', 'openai']);
    expect(tierOf(result, 'openai')).toBe('degraded');
  });

  it('demotes a high error rate only once there are enough samples', () => {
    const flaky = (samples: number) =>
      allHealthy().map((x) =>
        x.provider === 'openai' ? { ...x, successes: samples - 4, failures: 4, errorRate: 0.6 } : x,
      );
    const enough = rankProviders('llm', ['openai', 'anthropic', 'groq'], flaky(policy.minSamplesForErrorRate), policy);
    expect(enough.order).toEqual(['anthropic', 'groq', 'openai']);
    expect(tierOf(enough, 'openai')).toBe('degraded');
    expect(enough.entries[2]?.reasons.join(' ')).toMatch(/error rate 60%/);

    const tooFew = rankProviders('llm', ['openai', 'anthropic', 'groq'], flaky(policy.minSamplesForErrorRate - 1), policy);
    expect(tooFew.order).toEqual(['openai', 'anthropic', 'groq']);
  });

  it('does not demote an error rate at exactly the threshold', () => {
    const h = allHealthy().map((x) => (x.provider === 'openai' ? { ...x, errorRate: policy.openAboveErrorRate } : x));
    expect(rankProviders('llm', ['openai', 'anthropic'], h, policy).order).toEqual(['openai', 'anthropic']);
  });

  it('demotes a provider far slower than the median of its peers, behind normal ones but ahead of degraded ones', () => {
    const h = [
      health('llm', 'openai', { latencyEwmaMs: 2000 }),
      health('llm', 'anthropic', { latencyEwmaMs: 500 }),
      health('llm', 'groq', { latencyEwmaMs: 700, errorRate: 0.9, failures: 50 }),
    ];
    // openai's peers: 500 and 700 -> median 600; 2000 > 3 x 600.
    const result = rankProviders('llm', ['openai', 'groq', 'anthropic'], h, policy);
    expect(result.order).toEqual(['anthropic', 'openai', 'groq']);
    expect(tierOf(result, 'openai')).toBe('slow');
    expect(result.entries[1]?.reasons.join(' ')).toMatch(/slow: 2000 ms.*600 ms/);
  });

  it('keeps a provider that is slower but within slowFactor of its peers', () => {
    const h = [
      health('llm', 'openai', { latencyEwmaMs: 1500 }),
      health('llm', 'anthropic', { latencyEwmaMs: 500 }),
      health('llm', 'groq', { latencyEwmaMs: 500 }),
    ];
    // 1500 is exactly 3 x 500: not more than slowFactor times.
    expect(rankProviders('llm', ['openai', 'anthropic', 'groq'], h, policy).order).toEqual(['openai', 'anthropic', 'groq']);
  });

  it('never calls the fast one slow, and ignores peers without latency data', () => {
    const h = [
      health('stt', 'deepgram', { latencyEwmaMs: 100 }),
      health('stt', 'openai', { latencyEwmaMs: 1000 }),
    ];
    const result = rankProviders('stt', ['openai', 'deepgram'], h, policy);
    expect(result.order).toEqual(['deepgram', 'openai']);
    expect(tierOf(result, 'deepgram')).toBe('healthy');

    const noPeerData = [health('stt', 'deepgram', { latencyEwmaMs: null }), health('stt', 'openai', { latencyEwmaMs: 9000 })];
    expect(rankProviders('stt', ['openai', 'deepgram'], noPeerData, policy).order).toEqual(['openai', 'deepgram']);
  });

  it('compares latency only within the modality', () => {
    const h = [
      health('tts', 'elevenlabs', { latencyEwmaMs: 900 }),
      health('tts', 'openai', { latencyEwmaMs: 800 }),
      health('llm', 'groq', { latencyEwmaMs: 50 }),
    ];
    expect(rankProviders('tts', ['elevenlabs', 'openai'], h, policy).order).toEqual(['elevenlabs', 'openai']);
  });

  it('keeps ties stable: equally demoted providers keep their configured order', () => {
    const open = { circuit: 'open' as const, circuitOpenedAtMs: NOW_MS - 10, consecutiveFailures: 7 };
    const h = [health('llm', 'openai', open), health('llm', 'anthropic', open), health('llm', 'groq')];
    expect(rankProviders('llm', ['anthropic', 'openai', 'groq'], h, policy, NOW_MS).order).toEqual(['groq', 'anthropic', 'openai']);
    expect(rankProviders('llm', ['openai', 'anthropic', 'groq'], h, policy, NOW_MS).order).toEqual(['groq', 'openai', 'anthropic']);
  });

  it('drops unknown and duplicate names and does not add known providers missing from the list', () => {
    const result = rankProviders('llm', ['mystery', 'anthropic', 'deepgram', 'anthropic', 'openai'], allHealthy(), policy);
    expect(result.order).toEqual(['anthropic', 'openai']);
    expect(result.entries.map((e) => e.provider)).toEqual(['anthropic', 'openai']);
  });

  it('reports every symptom of a provider and ranks it by the worst', () => {
    const h = [
      health('llm', 'openai', { latencyEwmaMs: 5000, errorRate: 0.8, failures: 40, circuit: 'open', circuitOpenedAtMs: NOW_MS }),
      health('llm', 'anthropic', { latencyEwmaMs: 500 }),
    ];
    const result = rankProviders('llm', ['openai', 'anthropic'], h, policy, NOW_MS);
    expect(result.order).toEqual(['anthropic', 'openai']);
    expect(tierOf(result, 'openai')).toBe('open');
    expect(result.entries[1]?.reasons).toHaveLength(3);
  });
});

describe('rankAll', () => {
  it('ranks every modality from its own list and explains each', () => {
    const h = [
      health('stt', 'deepgram', { circuit: 'open', circuitOpenedAtMs: NOW_MS - 5 }),
      health('stt', 'openai'),
      ...allHealthy(),
      health('tts', 'elevenlabs'),
      health('tts', 'openai'),
    ];
    const result = rankAll(
      { stt: ['deepgram', 'openai'], llm: ['openai', 'anthropic', 'groq'], tts: ['elevenlabs', 'unknown'] },
      h,
      policy,
      NOW_MS,
    );
    expect(result.order).toEqual({ stt: ['openai', 'deepgram'], llm: ['openai', 'anthropic', 'groq'], tts: ['elevenlabs'] });
    expect(result.details.stt.entries.map((e) => e.tier)).toEqual(['healthy', 'open']);
    expect(result.details.tts.order).toEqual(['elevenlabs']);
  });
});
