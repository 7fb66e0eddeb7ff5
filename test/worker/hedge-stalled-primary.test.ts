// A primary LLM that never sends its first token, with hedging as the worker runs it by default: the delay comes from
// the provider's measured first-token latency, so the backup is asked about its usual time to first token after the
// primary was, long before the first-token deadline would have failed it over. Real adapters against the fakes;
// asserted on what the fakes received and when, relative to each other.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../worker/config.ts';
import { BreakerRegistry } from '../../worker/fallback/breaker.ts';
import { HEDGE_DELAY, llmHedgeDelays } from '../../worker/fallback/hedge-delay.ts';
import { DEFAULT_LLM_POLICY, streamAnswer, type AnswerEvent, type LlmChainOptions } from '../../worker/fallback/llm-chain.ts';
import type { LlmRequest } from '../../worker/providers/types.ts';
import { waitFor } from '../support/wait.ts';
import { buildFakeChains, collect, outcomeLog, outcomeSummary, requestsOn, startVendorFakes, type VendorFakes } from './fault-matrix-support.ts';

const REQUEST: LlmRequest = { system: 'Be brief.', messages: [{ role: 'user', text: 'What is the capital of France?' }] };
const HEALTHY = 'Paris is the capital of France.';
const BACKUP = 'It is Paris, on the Seine.';
/** What the control plane measured for openai, as a launched worker receives it with its provider order. */
const MEASURED = { firstByte: { llm: { openai: { ewmaMs: 250, deviationMs: 10, samples: 40 } } } };
/** Never, as far as the test goes: the primary's stream opens and no token follows. */
const NEVER_MS = 60_000;

let fakes: VendorFakes;
beforeAll(async () => {
  fakes = await startVendorFakes();
});
afterEach(() => fakes.reset());
afterAll(async () => {
  await fakes?.close();
});

const textOf = (events: AnswerEvent[]) => events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');

async function ask(options: Omit<LlmChainOptions, 'onOutcome'>) {
  const log = outcomeLog();
  const { events, error } = await collect(streamAnswer({ ...options, onOutcome: log.record }, REQUEST, AbortSignal.timeout(15_000)));
  return { events, error, outcomes: log.outcomes, text: textOf(events) };
}

describe('a primary LLM that never sends its first token', () => {
  it('is hedged at its measured first-token time: the backup answers, alone, well before the first-token deadline', async () => {
    const chains = buildFakeChains(fakes, { llm: ['openai', 'anthropic', 'groq'] });
    const breakers = new BreakerRegistry();
    const hedge = llmHedgeDelays(parseAgentConfig({}), MEASURED);
    fakes.openai.setProfile({ ttfbMs: 40 });
    fakes.openai.script.pushReplies(HEALTHY, 'never heard');
    fakes.anthropic.script.pushReplies(BACKUP);

    // A healthy turn first: the primary answers before its hedge delay, nobody else is asked.
    const healthy = await ask({ links: chains.llm, breakers, hedge });
    expect(healthy.text).toBe(HEALTHY);
    expect(requestsOn(fakes.anthropic, 'messages')).toHaveLength(0);

    const delayMs = hedge.afterMs('openai')!;
    expect(delayMs).toBeLessThan(DEFAULT_LLM_POLICY.firstChunkTimeoutMs / 4);
    fakes.openai.faults.push({ kind: 'delayFirstChunk', ms: NEVER_MS, route: 'chat' });
    const stalled = await ask({ links: chains.llm, breakers, hedge });

    // The backup's answer, once, and no failover: the hedge answered, not the first-token deadline.
    expect(stalled.error).toBeUndefined();
    expect(stalled.text).toBe(BACKUP);
    expect(stalled.events.filter((e) => e.type === 'failover')).toEqual([]);
    expect(stalled.events.every((e) => e.type !== 'text' || e.provider === 'anthropic')).toBe(true);

    const primary = requestsOn(fakes.openai, 'chat');
    const backup = requestsOn(fakes.anthropic, 'messages');
    expect(primary).toHaveLength(2);
    expect(backup).toHaveLength(1);
    expect(requestsOn(fakes.groq, 'chat')).toHaveLength(0);
    const stalledRequest = primary[1]!;
    expect(stalledRequest.fault).toBe('delayFirstChunk');
    // Asked after the primary by about the hedge delay, not at once, and nowhere near the deadline. The timer starts
    // as the primary's request goes out, before the fake records it: on a loaded machine that request has reached
    // the fake 30 ms late (a full run read 281 for a 311 ms delay), so the bound leaves it 60.
    const gapMs = backup[0]!.receivedAtMs - stalledRequest.receivedAtMs;
    expect(gapMs).toBeGreaterThanOrEqual(delayMs - 60);
    expect(gapMs).toBeLessThan(DEFAULT_LLM_POLICY.firstChunkTimeoutMs / 2);
    // The loser is cancelled on the wire and counts as a timeout (one: its breaker stays closed).
    await waitFor('the stalled primary request to be cancelled', () => stalledRequest.clientAborted, 2_000);
    expect(outcomeSummary(stalled.outcomes)).toEqual([['openai', false, 'timeout'], ['anthropic', true, undefined]]);
    expect(breakers.state('openai')).toBe('closed');
  });

  it('one that keeps stalling opens its breaker after three outrun turns: the next turn asks the backup alone, at once', async () => {
    const chains = buildFakeChains(fakes, { llm: ['openai', 'anthropic', 'groq'] });
    const breakers = new BreakerRegistry();
    const hedge = llmHedgeDelays(parseAgentConfig({}), MEASURED);
    fakes.openai.faults.push({ kind: 'delayFirstChunk', ms: NEVER_MS, route: 'chat', times: 10 });
    fakes.anthropic.script.pushReplies(BACKUP, BACKUP, BACKUP, BACKUP);
    const usualMs = hedge.afterMs('openai')!;
    for (let turn = 1; turn <= 3; turn++) {
      const r = await ask({ links: chains.llm, breakers, hedge });
      expect(r.text).toBe(BACKUP);
      // From the second turn the backup answers before openai's usual time is up: openai is judged when it is.
      await waitFor(`openai judged on turn ${turn}`, () => r.outcomes.some((o) => o.provider === 'openai'), 2_000);
      expect(outcomeSummary(r.outcomes).sort()).toEqual([['anthropic', true, undefined], ['openai', false, 'timeout']]);
    }
    expect(breakers.state('openai')).toBe('open');
    // The first outrun turn waited the usual delay for the backup; the next two, openai being suspect, only the short
    // head start (each request's gap as the fakes received them).
    const gaps = requestsOn(fakes.openai, 'chat').map((primary, i) => requestsOn(fakes.anthropic, 'messages')[i]!.receivedAtMs - primary.receivedAtMs);
    expect(HEDGE_DELAY.suspectMs).toBeLessThan(usualMs - 100);
    expect(gaps[0]).toBeGreaterThanOrEqual(usualMs - 25);
    for (const gap of gaps.slice(1)) {
      expect(gap).toBeGreaterThanOrEqual(HEDGE_DELAY.suspectMs - 25);
      expect(gap).toBeLessThan(usualMs - 25);
    }
    const fourth = await ask({ links: chains.llm, breakers, hedge });
    expect(fourth.text).toBe(BACKUP);
    expect(outcomeSummary(fourth.outcomes)).toEqual([['anthropic', true, undefined]]);
    // openai was asked on the three outrun turns only; anthropic on the fourth with no hedge delay before it.
    expect(requestsOn(fakes.openai, 'chat')).toHaveLength(3);
    const backups = requestsOn(fakes.anthropic, 'messages');
    expect(backups).toHaveLength(4);
    expect(requestsOn(fakes.groq, 'chat')).toHaveLength(0);
  });

  it('one that recovered is not failed by a quick backup started early: it is cancelled, and gets its usual head start again', async () => {
    const chains = buildFakeChains(fakes, { llm: ['openai', 'anthropic', 'groq'] });
    const breakers = new BreakerRegistry();
    const hedge = llmHedgeDelays(parseAgentConfig({}), MEASURED);
    const usualMs = hedge.afterMs('openai')!;
    fakes.openai.faults.push({ kind: 'delayFirstChunk', ms: NEVER_MS, route: 'chat' });
    fakes.anthropic.script.pushReplies(BACKUP, BACKUP);
    const stalled = await ask({ links: chains.llm, breakers, hedge });
    expect(outcomeSummary(stalled.outcomes)).toEqual([['openai', false, 'timeout'], ['anthropic', true, undefined]]);
    expect(hedge.afterMs('openai')).toBe(HEDGE_DELAY.suspectMs);

    // openai answers again, at its usual pace; the backup, asked after the short head start, is quicker still.
    fakes.openai.setProfile({ ttfbMs: usualMs - 70, ttfbJitterMs: 0 });
    fakes.anthropic.setProfile({ ttfbMs: 0, ttfbJitterMs: 0 });
    const overtaken = await ask({ links: chains.llm, breakers, hedge });
    expect(overtaken.text).toBe(BACKUP);
    // openai's first token came within its usual time, unheard: it is cancelled then, not failed; its breaker is
    // untouched and the suspicion lifted.
    await waitFor('the overtaken request to be cancelled', () => requestsOn(fakes.openai, 'chat')[1]?.clientAborted, 2_000);
    await waitFor('the suspicion lifted', () => hedge.afterMs('openai') === usualMs, 2_000);
    expect(outcomeSummary(overtaken.outcomes)).toEqual([['anthropic', true, undefined]]);
    expect(breakers.state('openai')).toBe('closed');

    fakes.openai.script.pushReplies(HEALTHY);
    const healthy = await ask({ links: chains.llm, breakers, hedge });
    expect(healthy.text).toBe(HEALTHY);
    expect(requestsOn(fakes.anthropic, 'messages')).toHaveLength(2);
  });

  it('with LLM_HEDGE=off waits for the first-token deadline and fails over (the cost hedging saves)', async () => {
    const chains = buildFakeChains(fakes, { llm: ['openai', 'anthropic', 'groq'] });
    const policy = { firstChunkTimeoutMs: 600, stallTimeoutMs: 300 };
    fakes.openai.faults.push({ kind: 'delayFirstChunk', ms: NEVER_MS, route: 'chat' });
    fakes.anthropic.script.pushReplies(BACKUP);
    const r = await ask({ links: chains.llm, breakers: new BreakerRegistry(), policy, hedge: llmHedgeDelays(parseAgentConfig({ LLM_HEDGE: 'off' }), MEASURED) });

    expect(r.text).toBe(BACKUP);
    expect(r.events.filter((e) => e.type === 'failover').map((e) => e.type === 'failover' && [e.from, e.to, e.error.errorClass])).toEqual([['openai', 'anthropic', 'timeout']]);
    const [stalled] = requestsOn(fakes.openai, 'chat');
    const [backup] = requestsOn(fakes.anthropic, 'messages');
    expect(backup!.receivedAtMs - stalled!.receivedAtMs).toBeGreaterThanOrEqual(policy.firstChunkTimeoutMs - 25);
    expect(outcomeSummary(r.outcomes)).toEqual([['openai', false, 'timeout'], ['anthropic', true, undefined]]);
  });
});
