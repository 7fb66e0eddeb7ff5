// What every LLM adapter must do, run through its real SDK against its fake vendor: the same suite for OpenAI, Groq
// and Anthropic (each test file adds what is its vendor's own). Every wait is bounded; aborts come from test timers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../worker/fallback/errors.ts';
import type { LlmEvent, LlmProvider, LlmRequest } from '../../../worker/providers/types.ts';
import { closedPort, type FakeServer } from '../../fakes/kit/server.ts';
import { splitIntoTokens } from '../../fakes/kit/script.ts';
import { waitFor } from '../../support/wait.ts';

export const API_KEY = 'test-key-right';

export interface AdapterOptions {
  apiKey?: string;
  baseUrl?: string;
  timeoutMs?: number;
}

export interface LlmContractSubject {
  name: string;
  /** The fake's route name for faults ('chat', 'messages'). */
  route: string;
  startFake(): Promise<FakeServer>;
  /** The adapter pointed at the fake (`baseUrl` overrides the fake's). */
  create(fake: FakeServer, options?: AdapterOptions): LlmProvider;
}

export const REQUEST: LlmRequest = { system: 'Answer in one sentence.', messages: [{ role: 'user', text: 'Say hello.' }] };

export interface Collected {
  events: LlmEvent[];
  text: string;
  error: unknown;
}

/** Reads the whole stream (bounded by `signal`, 10 s unless given); `onText` sees each text event as it arrives. */
export async function collect(
  provider: LlmProvider,
  request: LlmRequest = REQUEST,
  signal: AbortSignal = AbortSignal.timeout(10_000),
  onText?: (text: string) => void,
): Promise<Collected> {
  const events: LlmEvent[] = [];
  let error: unknown;
  try {
    for await (const event of provider.stream(request, signal)) {
      events.push(event);
      if (event.type === 'text') onText?.(event.text);
    }
  } catch (err) {
    error = err;
  }
  const text = events.map((e) => (e.type === 'text' ? e.text : '')).join('');
  return { events, text, error };
}

export function providerError(error: unknown): ProviderError {
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

export function describeLlmContract(subject: LlmContractSubject): { fake(): FakeServer } {
  let fake: FakeServer;
  let llm: LlmProvider;
  beforeAll(async () => {
    fake = await subject.startFake();
    llm = subject.create(fake);
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  describe(`${subject.name} LLM adapter: the contract`, () => {
    it('streams the reply exactly, then one end with finish reason and usage', async () => {
      const reply = 'Hello there, friend. How are you today?';
      fake.script.pushReplies(reply);
      const result = await collect(llm);
      expect(result.error).toBeUndefined();
      expect(result.text).toBe(reply);
      expect(result.events.filter((e) => e.type === 'text').length).toBeGreaterThan(3);
      expect(result.events.filter((e) => e.type === 'end')).toHaveLength(1);
      const end = result.events.at(-1);
      expect(end).toMatchObject({ type: 'end', finishReason: 'stop', usage: { outputTokens: splitIntoTokens(reply).length } });
      expect(end?.type === 'end' && end.usage?.inputTokens).toBeGreaterThan(0);
      expect(llm).toMatchObject({ modality: 'llm', name: subject.name });
      expect(fake.requests[0]).toMatchObject({ finished: true, clientAborted: false });
    });

    it('passes maxTokens and reports a cut answer as finish reason "length"', async () => {
      fake.script.pushReplies('one two three four five');
      const result = await collect(llm, { ...REQUEST, maxTokens: 2 });
      expect(result.text).toBe('one two');
      expect(result.events.at(-1)).toMatchObject({ type: 'end', finishReason: 'length' });
    });

    it('classifies a wrong key (401) as permanent', async () => {
      const wrong = subject.create(fake, { apiKey: 'test-key-wrong' });
      const error = providerError((await collect(wrong)).error);
      expect(error).toMatchObject({ provider: subject.name, errorClass: 'permanent', status: 401 });
      expect(error.message).not.toContain('test-key-wrong');
    });

    it.each([400, 403, 404, 422])('classifies %i as permanent', async (status) => {
      fake.faults.push({ kind: 'status', status, route: subject.route });
      expect(providerError((await collect(llm)).error)).toMatchObject({ errorClass: 'permanent', status });
    });

    it('classifies 429 as transient with retryAfterMs from retry-after', async () => {
      fake.faults.push({ kind: 'status', status: 429, retryAfterS: 7, route: subject.route });
      expect(providerError((await collect(llm)).error)).toMatchObject({ errorClass: 'transient', status: 429, retryAfterMs: 7_000 });
      expect(fake.requests).toHaveLength(1);
    });

    it.each([500, 502, 503, 529])('classifies %i as transient, without retrying it in the SDK', async (status) => {
      fake.faults.push({ kind: 'status', status, route: subject.route });
      expect(providerError((await collect(llm)).error)).toMatchObject({ errorClass: 'transient', status });
      expect(fake.requests).toHaveLength(1);
    });

    it('classifies a connection reset and a refused connection as transient', async () => {
      fake.faults.push({ kind: 'reset', route: subject.route });
      expect(providerError((await collect(llm)).error)).toMatchObject({ errorClass: 'transient', status: undefined });
      const nowhere = subject.create(fake, { baseUrl: `http://127.0.0.1:${await closedPort()}` });
      expect(providerError((await collect(nowhere)).error)).toMatchObject({ errorClass: 'transient', status: undefined });
    });

    it("classifies the SDK's own timeout (no headers in time) as timeout", async () => {
      fake.faults.push({ kind: 'delayHeaders', ms: 5_000, route: subject.route });
      const impatient = subject.create(fake, { timeoutMs: 200 });
      expect(providerError((await collect(impatient)).error)).toMatchObject({ errorClass: 'timeout' });
    });

    it('throws truncated when the stream ends cleanly without its terminator', async () => {
      fake.script.pushReplies('one two three four five six seven eight');
      fake.faults.push({ kind: 'truncateAfter', chunks: 4, route: subject.route });
      const result = await collect(llm);
      expect(providerError(result.error)).toMatchObject({ errorClass: 'truncated' });
      expect(result.text.length).toBeGreaterThan(0);
      expect(result.events.some((e) => e.type === 'end')).toBe(false);
    });

    it('classifies a socket destroyed mid-stream as transient', async () => {
      fake.script.pushReplies('one two three four five six seven eight');
      fake.faults.push({ kind: 'destroyAfter', chunks: 4, route: subject.route });
      const result = await collect(llm);
      expect(providerError(result.error)).toMatchObject({ errorClass: 'transient' });
      expect(result.events.some((e) => e.type === 'end')).toBe(false);
    });

    it("classifies the vendor's in-stream error event as transient", async () => {
      fake.script.pushReplies('one two three four five six seven eight');
      fake.faults.push({ kind: 'midStreamError', chunks: 4, route: subject.route });
      const result = await collect(llm);
      expect(providerError(result.error)).toMatchObject({ errorClass: 'transient', status: undefined });
      expect(result.text.length).toBeGreaterThan(0);
    });

    it('leaves a stall after the headers to the caller: the SDK timeout does not cut it, our signal does', async () => {
      fake.script.pushReplies('one two three four five six seven eight');
      fake.faults.push({ kind: 'stallAfter', chunks: 4, ms: 20_000, route: subject.route });
      // The SDK timeout (300 ms from the request) passes long before our abort (800 ms after the last text): if it
      // covered the body, the stream would fail with 'timeout' first.
      const impatient = subject.create(fake, { timeoutMs: 300 });
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const result = await collect(impatient, REQUEST, controller.signal, () => {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), 800);
      });
      clearTimeout(timer);
      expect(controller.signal.aborted).toBe(true);
      expect(result.error).toBeDefined();
      expect(result.error).not.toBeInstanceOf(ProviderError);
      expect(result.text.length).toBeGreaterThan(0);
      await waitFor('the fake to see the connection close', () => fake.requests[0]?.clientAborted, 5_000);
    });

    it('aborting the signal mid-stream stops the request: the fake sees the connection close', async () => {
      fake.setProfile({ tokensPerSecond: 20 });
      fake.script.pushReplies('one two three four five six seven eight nine ten eleven twelve');
      const controller = new AbortController();
      const result = await collect(llm, REQUEST, controller.signal, () => controller.abort());
      expect(result.error).toBeDefined();
      expect(result.error).not.toBeInstanceOf(ProviderError);
      expect(result.events.filter((e) => e.type === 'text')).toHaveLength(1);
      await waitFor('the fake to see the connection close', () => fake.requests[0]?.clientAborted, 5_000);
      expect(fake.requests[0]?.finished).toBe(false);
    });

    it('aborting before the headers arrive stops the request too', async () => {
      fake.faults.push({ kind: 'delayHeaders', ms: 20_000, route: subject.route });
      const signal = AbortSignal.timeout(300);
      const result = await collect(llm, REQUEST, signal);
      expect(signal.aborted).toBe(true);
      expect(result.error).not.toBeInstanceOf(ProviderError);
      await waitFor('the fake to see the connection close', () => fake.requests[0]?.clientAborted, 5_000);
    });

    it('a consumer that stops reading early closes the connection', async () => {
      fake.setProfile({ tokensPerSecond: 20 });
      fake.script.pushReplies('one two three four five six seven eight nine ten eleven twelve');
      for await (const event of llm.stream(REQUEST, AbortSignal.timeout(10_000))) {
        if (event.type === 'text' && event.text) break;
      }
      await waitFor('the fake to see the connection close', () => fake.requests[0]?.clientAborted, 5_000);
    });

    it('joins a continuation to the delivered text without doubling the space between them', async () => {
      fake.script.pushReplies(' the capital of France.');
      const result = await collect(llm, { ...REQUEST, continueFrom: 'Paris is ' });
      expect(result.error).toBeUndefined();
      expect('Paris is ' + result.text).toBe('Paris is the capital of France.');
    });
  });

  return { fake: () => fake };
}
