// How the LLM hedge delay is derived: from the control plane's measurement, then from the session's own first tokens;
// bounded; a default when nothing is known; the operator's fixed delay and "off" still win.
import { describe, expect, it } from 'vitest';
import type { ProviderOutcome } from '../../functions/contract.ts';
import { WorkerConfigError, parseAgentConfig } from '../../worker/config.ts';
import { HEDGE_DELAY, HedgeDelays, hedgeDelayFrom, llmHedgeDelays } from '../../worker/fallback/hedge-delay.ts';

const firstToken = (provider: string, ttfbMs: number | undefined, modality: ProviderOutcome['modality'] = 'llm'): ProviderOutcome => ({
  modality,
  provider,
  ok: true,
  durationMs: (ttfbMs ?? 0) + 300,
  ...(ttfbMs === undefined ? {} : { ttfbMs }),
});

describe('the hedge delay formula', () => {
  it('is the usual first token plus twice its spread, with a floor on the margin', () => {
    expect(hedgeDelayFrom({ meanMs: 250, deviationMs: 30 })).toBe(310);
    // A perfectly steady provider still gets a margin: its small wobbles must not hedge every turn.
    expect(hedgeDelayFrom({ meanMs: 250, deviationMs: 0 })).toBe(250 + HEDGE_DELAY.minMarginMs);
  });

  it('stays within its bounds whatever the measurements say', () => {
    expect(hedgeDelayFrom({ meanMs: 10, deviationMs: 1 })).toBe(HEDGE_DELAY.minMs);
    expect(hedgeDelayFrom({ meanMs: 9_000, deviationMs: 2_000 })).toBe(HEDGE_DELAY.maxMs);
  });
});

describe('HedgeDelays', () => {
  it('starts from what the control plane measured, per provider, and from the default for the rest', () => {
    const delays = new HedgeDelays({ mode: 'measured' }, {
      openai: { ewmaMs: 250, deviationMs: 10, samples: 50 },
      anthropic: { ewmaMs: 600, deviationMs: 100, samples: 20 },
    });
    expect(delays.afterMs('openai')).toBe(270);
    expect(delays.afterMs('anthropic')).toBe(800);
    expect(delays.afterMs('groq')).toBe(HEDGE_DELAY.unmeasuredMs);
  });

  it('guesses a spread when the control plane has only a mean (one sample, or an older control plane)', () => {
    const delays = new HedgeDelays({ mode: 'measured' }, { openai: { ewmaMs: 400, samples: 1 }, groq: { ewmaMs: 90, samples: 0 } });
    expect(delays.afterMs('openai')).toBe(400 + 2 * 100);
    // No samples behind it: not a measurement.
    expect(delays.afterMs('groq')).toBe(HEDGE_DELAY.unmeasuredMs);
  });

  it('learns from the session\'s own first tokens: a provider that got slower is waited for longer, a steady one converges', () => {
    const delays = new HedgeDelays({ mode: 'measured' }, { openai: { ewmaMs: 250, deviationMs: 10, samples: 50 } });
    const before = delays.afterMs('openai')!;
    delays.observe(firstToken('openai', 700));
    const afterSlow = delays.afterMs('openai')!;
    expect(afterSlow).toBeGreaterThan(before);
    // As the EWMAs say: mean 0.75 * 250 + 0.25 * 700, deviation 0.75 * 10 + 0.25 * 450.
    expect(afterSlow).toBe(Math.round(362.5 + 2 * 120));
    for (let i = 0; i < 30; i++) delays.observe(firstToken('openai', 700));
    const settled = delays.afterMs('openai')!;
    expect(settled).toBeGreaterThanOrEqual(700 + HEDGE_DELAY.minMarginMs);
    expect(settled).toBeLessThan(740);
  });

  it('learns a provider it had no figures for from its first first token', () => {
    const delays = new HedgeDelays({ mode: 'measured' });
    delays.observe(firstToken('anthropic', 320));
    expect(delays.afterMs('anthropic')).toBe(320 + 2 * 80);
    expect(delays.afterMs('openai')).toBe(HEDGE_DELAY.unmeasuredMs);
  });

  it('learns nothing from attempts without a first token, or from other modalities', () => {
    const delays = new HedgeDelays({ mode: 'measured' }, { openai: { ewmaMs: 250, deviationMs: 10, samples: 50 } });
    delays.observe({ modality: 'llm', provider: 'openai', ok: false, errorClass: 'timeout', durationMs: 4_000 });
    delays.observe(firstToken('openai', 1_500, 'tts'));
    delays.observe(firstToken('openai', undefined));
    // The usual delay is what it was (the timeout made openai suspect, which shortens only the next head start).
    expect(delays.timing('openai')?.outrunAfterMs).toBe(270);
  });

  it('a fixed delay ignores measurements; off never hedges', () => {
    const measured = { openai: { ewmaMs: 250, deviationMs: 10, samples: 50 } };
    const fixed = new HedgeDelays({ mode: 'fixed', afterMs: 900 }, measured);
    fixed.observe(firstToken('openai', 100));
    expect(fixed.afterMs('openai')).toBe(900);
    expect(new HedgeDelays({ mode: 'off' }, measured).afterMs('openai')).toBeUndefined();
  });
});

describe('a primary whose last request timed out', () => {
  const measured = { openai: { ewmaMs: 250, deviationMs: 10, samples: 50 } };
  const timedOut = (provider: string): ProviderOutcome => ({ modality: 'llm', provider, ok: false, errorClass: 'timeout', durationMs: 540 });

  it('is suspect: its next rival joins after the short head start, and its silence is still judged against its usual delay', () => {
    const delays = new HedgeDelays({ mode: 'measured' }, measured);
    expect(delays.timing('openai')).toEqual({ afterMs: 270, outrunAfterMs: 270 });
    delays.observe(timedOut('openai'));
    expect(delays.timing('openai')).toEqual({ afterMs: HEDGE_DELAY.suspectMs, outrunAfterMs: 270 });
    // Only the one that timed out.
    expect(delays.afterMs('anthropic')).toBe(HEDGE_DELAY.unmeasuredMs);
    // A second timeout keeps it so; the learned latency is untouched (no first token to learn from).
    delays.observe(timedOut('openai'));
    expect(delays.timing('openai')).toEqual({ afterMs: HEDGE_DELAY.suspectMs, outrunAfterMs: 270 });
  });

  it('is trusted again after a first token, or after a rival outran it before its usual time was up', () => {
    const answered = new HedgeDelays({ mode: 'measured' }, measured);
    answered.observe(timedOut('openai'));
    answered.observe(firstToken('openai', 250));
    expect(answered.afterMs('openai')).toBe(hedgeDelayFrom({ meanMs: 250, deviationMs: 7.5 }));

    const overtaken = new HedgeDelays({ mode: 'measured' }, measured);
    overtaken.observe(timedOut('openai'));
    overtaken.overtaken('openai');
    expect(overtaken.afterMs('openai')).toBe(270);
  });

  it('other failures, other modalities, a fixed delay and off know no suspicion', () => {
    const delays = new HedgeDelays({ mode: 'measured' }, measured);
    delays.observe({ modality: 'llm', provider: 'openai', ok: false, errorClass: 'transient', durationMs: 30 });
    delays.observe({ ...timedOut('openai'), modality: 'tts' });
    expect(delays.afterMs('openai')).toBe(270);
    const fixed = new HedgeDelays({ mode: 'fixed', afterMs: 900 }, measured);
    fixed.observe(timedOut('openai'));
    expect(fixed.timing('openai')).toEqual({ afterMs: 900 });
    const off = new HedgeDelays({ mode: 'off' }, measured);
    off.observe(timedOut('openai'));
    expect(off.timing('openai')).toBeUndefined();
  });
});

describe('the settings', () => {
  const order = { firstByte: { llm: { openai: { ewmaMs: 250, deviationMs: 10, samples: 50 } } } };

  it('hedge by default, on the measured delay', () => {
    expect(parseAgentConfig({}).LLM_HEDGE).toBe('on');
    expect(llmHedgeDelays(parseAgentConfig({}), order).afterMs('openai')).toBe(270);
    // A worker whose control plane sends no measurements (older, or Redis down at launch), or the console.
    expect(llmHedgeDelays(parseAgentConfig({}), {}).afterMs('openai')).toBe(HEDGE_DELAY.unmeasuredMs);
  });

  it('LLM_HEDGE_AFTER_MS fixes the delay; LLM_HEDGE=off turns hedging off, even with a fixed delay set', () => {
    expect(llmHedgeDelays(parseAgentConfig({ LLM_HEDGE_AFTER_MS: '1200' }), order).afterMs('openai')).toBe(1200);
    expect(llmHedgeDelays(parseAgentConfig({ LLM_HEDGE: 'off', LLM_HEDGE_AFTER_MS: '1200' }), order).afterMs('openai')).toBeUndefined();
  });

  it('refuses a value it does not know, naming the variable', () => {
    expect(() => parseAgentConfig({ LLM_HEDGE: 'sometimes' })).toThrow(WorkerConfigError);
    expect(() => parseAgentConfig({ LLM_HEDGE: 'sometimes' })).toThrow(/LLM_HEDGE:/);
  });
});
