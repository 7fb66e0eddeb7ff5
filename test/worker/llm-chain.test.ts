// The fallback engine through the LLM chain, with scripted vendors: exact text out, whatever fails where.
import { describe, expect, it } from 'vitest';
import type { ProviderOutcome } from '../../functions/contract.ts';
import { BreakerRegistry } from '../../worker/fallback/breaker.ts';
import { ChainExhaustedError } from '../../worker/fallback/errors.ts';
import { streamAnswer, type AnswerEvent } from '../../worker/fallback/llm-chain.ts';
import type { LlmProvider } from '../../worker/providers/types.ts';
import { scriptedLlm } from '../support/scripted-providers.ts';

const request = { system: 'Be brief.', messages: [{ role: 'user' as const, text: 'What is the capital of France?' }] };
const fast = { firstChunkTimeoutMs: 200, stallTimeoutMs: 150 };

async function answer(providers: LlmProvider[], opts: { breakers?: BreakerRegistry; hedgeAfterMs?: number; signal?: AbortSignal } = {}) {
  const outcomes: ProviderOutcome[] = [];
  const events: AnswerEvent[] = [];
  let error: unknown;
  try {
    for await (const ev of streamAnswer(
      { links: providers.map((p) => ({ name: p.name, provider: p })), breakers: opts.breakers ?? new BreakerRegistry(), policy: fast, onOutcome: (o) => outcomes.push(o), ...(opts.hedgeAfterMs !== undefined ? { hedgeAfterMs: opts.hedgeAfterMs } : {}) },
      request,
      opts.signal ?? new AbortController().signal,
    )) events.push(ev);
  } catch (err) {
    error = err;
  }
  const text = events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('');
  return { events, outcomes, text, error, done: events.find((e) => e.type === 'done') };
}

const words = (s: string) => s.split(/(?<= )/);

describe('LLM chain', () => {
  it('streams the first provider when it is healthy, released at word boundaries', async () => {
    const a = scriptedLlm('a', [{ tokens: ['Par', 'is is ', 'the cap', 'ital.'] }]);
    const r = await answer([a, scriptedLlm('b', [{ tokens: ['unused'] }])]);
    expect(r.text).toBe('Paris is the capital.');
    expect(r.events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text)).toEqual(['Paris is ', 'the ', 'capital.']);
    expect(r.done).toMatchObject({ type: 'done', provider: 'a', text: 'Paris is the capital.' });
    expect(r.outcomes).toEqual([expect.objectContaining({ modality: 'llm', provider: 'a', ok: true, tokens: 4 })]);
    expect(r.outcomes[0]?.ttfbMs).toBeGreaterThanOrEqual(0);
  });

  it('releases a word that ends a sentence or clause at once, not with the next token; digits and initials wait', async () => {
    const a = scriptedLlm('a', [{ tokens: ['Of', ' course', ',', ' it', ' costs', ' 3', '.', '5', ' per', ' J', '.', ' Smith', ' plan', '.', ' Why', '?', ' Ask'] }]);
    const r = await answer([a]);
    const texts = r.events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text);
    // "course," "plan." and "Why?" are each their own release, before the space of the token after them came.
    expect(texts).toEqual(['Of ', 'course,', ' ', 'it ', 'costs ', '3.5 ', 'per ', 'J. ', 'Smith ', 'plan.', ' ', 'Why?', ' ', 'Ask']);
  });

  it('continues after a released sentence end with a space, whether or not the next provider starts with one', async () => {
    const a = scriptedLlm('a', [{ tokens: ['Paris', ' is', ' lovely', '.'], after: 4, fail: 'transient' }]);
    const b = scriptedLlm('b', [{ tokens: ['It', ' is', ' old.'] }]);
    const r = await answer([a, b]);
    expect(b.calls[0]?.request.continueFrom).toBe('Paris is lovely.');
    expect(r.text).toBe('Paris is lovely. It is old.');
  });

  it('sends the same request to the next provider when the first fails before any text', async () => {
    const a = scriptedLlm('a', [{ tokens: ['x'], after: 0, fail: 'transient' }]);
    const b = scriptedLlm('b', [{ tokens: words('Paris is the capital of France.') }]);
    const r = await answer([a, b]);
    expect(r.text).toBe('Paris is the capital of France.');
    expect(b.calls[0]?.request.continueFrom).toBeUndefined();
    expect(r.events.find((e) => e.type === 'failover')).toMatchObject({ from: 'a', to: 'b', delivered: 0 });
    expect(r.outcomes.map((o) => [o.provider, o.ok, o.errorClass])).toEqual([['a', false, 'transient'], ['b', true, undefined]]);
  });

  it('continues a partial answer on the next provider without repeating a word', async () => {
    const a = scriptedLlm('a', [{ tokens: ['Paris ', 'is ', 'the ', 'capi'], after: 4, fail: 'transient' }]);
    // The backup repeats the delivered start before continuing, as models sometimes do.
    const b = scriptedLlm('b', [{ tokens: words('Paris is the capital of France, and its largest city.') }]);
    const r = await answer([a, b]);
    expect(b.calls[0]?.request.continueFrom).toBe('Paris is the ');
    expect(r.text).toBe('Paris is the capital of France, and its largest city.');
    expect(r.done).toMatchObject({ provider: 'b', text: r.text });
  });

  it.each([
    ['a stall mid-stream', { tokens: ['Paris ', 'is ', 'the '], after: 2, stall: true }],
    ['a stream cut without its terminator', { tokens: ['Paris ', 'is ', 'the '], after: 2, truncate: true }],
    ['a socket destroyed mid-stream', { tokens: ['Paris ', 'is ', 'the '], after: 2, fail: 'transient' as const }],
  ])('recovers from %s with one coherent answer', async (_name, step) => {
    const a = scriptedLlm('a', [step]);
    const b = scriptedLlm('b', [{ tokens: words('the capital of France.') }]);
    const r = await answer([a, b]);
    expect(r.text).toBe('Paris is the capital of France.');
    expect(a.calls[0]?.aborted).toBe(true);
  });

  it('gives up on a first token that never comes and aborts that attempt', async () => {
    const a = scriptedLlm('a', [{ tokens: ['late'], firstDelayMs: 10_000 }]);
    const b = scriptedLlm('b', [{ tokens: ['On time.'] }]);
    const r = await answer([a, b]);
    expect(r.text).toBe('On time.');
    expect(a.calls[0]?.aborted).toBe(true);
    expect(r.outcomes[0]).toMatchObject({ provider: 'a', ok: false, errorClass: 'timeout' });
    expect(r.outcomes[0]).not.toHaveProperty('ttfbMs');
  });

  it('throws a typed error naming every failure when the whole chain fails', async () => {
    const r = await answer([
      scriptedLlm('a', [{ tokens: ['x'], after: 0, fail: 'permanent' }]),
      scriptedLlm('b', [{ tokens: ['x'], after: 0, fail: 'transient' }]),
    ]);
    expect(r.error).toBeInstanceOf(ChainExhaustedError);
    expect((r.error as ChainExhaustedError).failures.map((f) => [f.provider, f.errorClass])).toEqual([['a', 'permanent'], ['b', 'transient']]);
    expect(r.events.at(-1)).toMatchObject({ type: 'failover', from: 'b', to: null });
  });

  it('skips a provider with a permanent error for the rest of the session', async () => {
    const breakers = new BreakerRegistry();
    const a = scriptedLlm('a', [{ tokens: ['x'], after: 0, fail: 'permanent' }]);
    const b = scriptedLlm('b', [{ tokens: ['Fine.'] }]);
    await answer([a, b], { breakers });
    const second = await answer([a, b], { breakers });
    expect(second.text).toBe('Fine.');
    expect(a.calls).toHaveLength(1);
    expect(breakers.state('a')).toBe('disabled');
  });

  it('stops at once, without failing over or blaming anyone, when the caller aborts', async () => {
    const controller = new AbortController();
    const a = scriptedLlm('a', [{ tokens: words('one two three four five six seven'), gapMs: 30 }]);
    const b = scriptedLlm('b', [{ tokens: ['never'] }]);
    setTimeout(() => controller.abort(new Error('barge-in')), 50);
    const r = await answer([a, b], { signal: controller.signal });
    expect(r.error).toBeDefined();
    expect(a.calls[0]?.aborted).toBe(true);
    expect(b.calls).toHaveLength(0);
    expect(r.outcomes).toEqual([]);
  });

  describe('hedging', () => {
    it('starts the next provider when the first is slow, keeps the first to speak and cancels the other', async () => {
      const slow = scriptedLlm('slow', [{ tokens: ['Slow answer.'], firstDelayMs: 150 }]);
      const quick = scriptedLlm('quick', [{ tokens: words('Quick answer.'), firstDelayMs: 10 }]);
      const r = await answer([slow, quick], { hedgeAfterMs: 40 });
      expect(r.text).toBe('Quick answer.');
      expect(slow.calls).toHaveLength(1);
      expect(slow.calls[0]?.aborted).toBe(true);
      expect(quick.calls).toHaveLength(1);
      // The first timed out as far as this turn goes (the rival spoke while it was silent); no failover was seen.
      expect(r.outcomes.map((o) => [o.provider, o.ok, o.errorClass])).toEqual([['slow', false, 'timeout'], ['quick', true, undefined]]);
      expect(r.events.filter((e) => e.type === 'failover')).toEqual([]);
    });

    it('a rival that loses to a first provider answering late is only cancelled: neither success nor failure', async () => {
      const late = scriptedLlm('late', [{ tokens: ['Late but first.'], firstDelayMs: 60 }]);
      const slower = scriptedLlm('slower', [{ tokens: ['unused'], firstDelayMs: 400 }]);
      const r = await answer([late, slower], { hedgeAfterMs: 20 });
      expect(r.text).toBe('Late but first.');
      expect(slower.calls[0]?.aborted).toBe(true);
      expect(r.outcomes.map((o) => [o.provider, o.ok])).toEqual([['late', true]]);
    });

    it('never starts the rival when the first provider speaks in time', async () => {
      const first = scriptedLlm('first', [{ tokens: ['In time.'], firstDelayMs: 5 }]);
      const rival = scriptedLlm('rival', [{ tokens: ['unused'] }]);
      const r = await answer([first, rival], { hedgeAfterMs: 100 });
      expect(r.text).toBe('In time.');
      expect(rival.calls).toHaveLength(0);
    });

    it('keeps the first provider when the rival fails before speaking', async () => {
      const slow = scriptedLlm('slow', [{ tokens: ['Late but fine.'], firstDelayMs: 80 }]);
      const broken = scriptedLlm('broken', [{ tokens: ['x'], after: 0, fail: 'transient' }]);
      const r = await answer([slow, broken], { hedgeAfterMs: 20 });
      expect(r.text).toBe('Late but fine.');
      expect(r.outcomes.map((o) => [o.provider, o.ok])).toEqual([['broken', false], ['slow', true]]);
    });
  });
});
