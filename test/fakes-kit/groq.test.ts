// The fake Groq through the real groq-sdk: the OpenAI stream under /openai/v1 plus x_groq, Groq's errors, every fault.
import Groq from 'groq-sdk';
import type { ChatCompletionChunk } from 'groq-sdk/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGroq } from '../fakes/groq.ts';
import type { FakeGroq } from '../fakes/groq.ts';
import { closedPort } from '../fakes/kit/server.ts';
import { defaultReply } from '../fakes/kit/script.ts';
import { waitFor } from '../support/wait.ts';

const API_KEY = 'gsk_test_fake';
let fake: FakeGroq;
let client: Groq;

beforeAll(async () => {
  fake = await startFakeGroq({ apiKey: API_KEY });
  client = new Groq({ apiKey: API_KEY, baseURL: fake.url, maxRetries: 0, timeout: 5_000 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const ask = (text: string, options: Groq.RequestOptions = {}) =>
  client.chat.completions.create({ model: 'llama-3.3-70b-versatile', messages: [{ role: 'user', content: text }], stream: true }, options);

async function drain(stream: AsyncIterable<ChatCompletionChunk>) {
  const chunks: ChatCompletionChunk[] = [];
  let text = '';
  try {
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    return { text, chunks, error: undefined, finishReason: chunks.at(-1)?.choices[0]?.finish_reason };
  } catch (error) {
    return { text, chunks, error: error as Error & { status?: number }, finishReason: undefined };
  }
}

describe('chat completions', () => {
  it('streams under /openai/v1 with x_groq on the first and last chunks', async () => {
    fake.script.pushReplies('Fast answer, as promised.');
    const result = await drain(await ask('hi'));
    expect(result).toMatchObject({ text: 'Fast answer, as promised.', finishReason: 'stop', error: undefined });
    const first = result.chunks[0] as ChatCompletionChunk & { x_groq?: { id: string } };
    const last = result.chunks.at(-1) as ChatCompletionChunk & { x_groq?: { id: string; usage?: { completion_tokens: number } } };
    expect(first.x_groq?.id).toMatch(/^req_/);
    expect(last.x_groq?.id).toBe(first.x_groq?.id);
    expect(last.x_groq?.usage?.completion_tokens).toBe(result.chunks.length - 2);
    expect(fake.requests[0]?.path).toBe('/openai/v1/chat/completions');
  });

  it('answers whole completions from the last user message', async () => {
    const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'ping' }] });
    expect(completion.choices[0]?.message.content).toBe(defaultReply('ping'));
  });

  it("answers a wrong key with Groq's 401 envelope", async () => {
    const stranger = new Groq({ apiKey: 'gsk_wrong', baseURL: fake.url, maxRetries: 0 });
    const error = await stranger.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(error).toBeInstanceOf(Groq.AuthenticationError);
    expect(error.status).toBe(401);
    expect(error.error).toEqual({ error: { message: 'Invalid API Key', type: 'invalid_request_error', code: 'invalid_api_key' } });
  });
});

describe('chat completion faults', () => {
  it('status: 429 with retry-after and x-ratelimit headers, 500, 503 page', async () => {
    fake.faults.push({ kind: 'status', status: 429, retryAfterS: 2 }, { kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const limited = await ask('x').catch((e) => e);
    expect(limited).toBeInstanceOf(Groq.RateLimitError);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(await ask('x').catch((e) => e)).toBeInstanceOf(Groq.InternalServerError);
    expect(await ask('x').catch((e) => e)).toMatchObject({ status: 503 });
  });

  it('reset, connection refused and delayHeaders are connection errors', async () => {
    fake.faults.push({ kind: 'reset' }, { kind: 'delayHeaders', ms: 2_000 });
    expect(await ask('x').catch((e) => e)).toBeInstanceOf(Groq.APIConnectionError);
    expect(await ask('x', { timeout: 100 }).catch((e) => e)).toBeInstanceOf(Groq.APIConnectionTimeoutError);
    const nowhere = new Groq({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${await closedPort()}`, maxRetries: 0 });
    const refused = await nowhere.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(refused).toBeInstanceOf(Groq.APIConnectionError);
  });

  it("a stall outlives the SDK's timeout until our AbortSignal; the fake sees the client leave", async () => {
    fake.faults.push({ kind: 'stallAfter', chunks: 2, ms: 10_000 });
    fake.script.pushReplies('one two three');
    const deadline = AbortSignal.timeout(400);
    const result = await drain(await ask('x', { timeout: 100, signal: deadline }));
    expect(deadline.aborted).toBe(true);
    expect(result.text).toBe('one');
    expect(result.error).toBeUndefined(); // the SDK ends the iteration silently when the caller aborts
    await waitFor('the fake to see the client close', () => fake.requests[0]?.clientAborted, 2_000);
  });

  it('destroyAfter: TypeError terminated; truncateAfter: silent end without finish_reason', async () => {
    fake.faults.push({ kind: 'destroyAfter', chunks: 2 }, { kind: 'truncateAfter', chunks: 3 });
    fake.script.pushReplies('one two three', 'one two three');
    const destroyed = await drain(await ask('x'));
    expect(destroyed.text).toBe('one');
    expect(destroyed.error).toBeInstanceOf(TypeError);
    expect(destroyed.error?.message).toBe('terminated');
    const truncated = await drain(await ask('x'));
    expect(truncated).toMatchObject({ text: 'one two', error: undefined, finishReason: null });
  });

  it('midStreamError: an APIError without status carrying the in-stream error', async () => {
    fake.faults.push({ kind: 'midStreamError', chunks: 2 });
    fake.script.pushReplies('one two three');
    const result = await drain(await ask('x'));
    expect(result.text).toBe('one');
    expect(result.error).toBeInstanceOf(Groq.APIError);
    expect(result.error?.status).toBeUndefined();
    expect(result.error?.message).toContain('Internal Server Error');
  });
});
