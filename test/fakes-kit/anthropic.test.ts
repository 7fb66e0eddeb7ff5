// The fake Anthropic through the real @anthropic-ai/sdk: named SSE events, auth styles, and what each fault looks like.
import Anthropic from '@anthropic-ai/sdk';
import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fakes/anthropic.ts';
import type { FakeAnthropic } from '../fakes/anthropic.ts';
import { closedPort } from '../fakes/kit/server.ts';
import { defaultReply } from '../fakes/kit/script.ts';
import { waitFor } from '../support/wait.ts';

const API_KEY = 'sk-ant-test-fake';
let fake: FakeAnthropic;
let client: Anthropic;

beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: API_KEY });
  client = new Anthropic({ apiKey: API_KEY, baseURL: fake.url, maxRetries: 0, timeout: 5_000 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const ask = (text: string, options: Anthropic.RequestOptions = {}, maxTokens = 256) =>
  client.messages.create({ model: 'claude-test', max_tokens: maxTokens, messages: [{ role: 'user', content: text }], stream: true }, options);

type Collected = { text: string; types: string[]; stopReason: string | null | undefined; sawMessageStop: boolean };

async function collect(stream: AsyncIterable<RawMessageStreamEvent>): Promise<Collected> {
  const collected: Collected = { text: '', types: [], stopReason: undefined, sawMessageStop: false };
  for await (const event of stream) {
    collected.types.push(event.type);
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') collected.text += event.delta.text;
    if (event.type === 'message_delta') collected.stopReason = event.delta.stop_reason;
    if (event.type === 'message_stop') collected.sawMessageStop = true;
  }
  return collected;
}

async function textUntilError(stream: AsyncIterable<RawMessageStreamEvent>) {
  let text = '';
  try {
    for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    return { text, error: undefined };
  } catch (error) {
    return { text, error: error as Error & { status?: number; type?: string } };
  }
}

describe('messages', () => {
  it('streams every event in order and the text concatenates exactly (pings are skipped by the SDK)', async () => {
    fake.script.pushReplies('Sure, I can help with that.');
    const result = await collect(await ask('help'));
    expect(result.text).toBe('Sure, I can help with that.');
    expect(result.types[0]).toBe('message_start');
    expect(result.types[1]).toBe('content_block_start');
    expect(result.types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(result.types).not.toContain('ping');
    expect(result).toMatchObject({ stopReason: 'end_turn', sawMessageStop: true });
    expect(fake.requests[0]?.headers['anthropic-version']).toBeTruthy();
  });

  it('the SDK helper assembles the final message; max_tokens stops with max_tokens', async () => {
    const final = await client.messages.stream({ model: 'claude-test', max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(final.content).toMatchObject([{ type: 'text', text: defaultReply('hi') }]);
    expect(final.usage.output_tokens).toBeGreaterThan(1);
    fake.script.pushReplies('one two three');
    expect(await collect(await ask('x', {}, 2))).toMatchObject({ text: 'one two', stopReason: 'max_tokens' });
  });

  it('answers whole messages and accepts x-api-key as well as Bearer', async () => {
    const viaHeader = new Anthropic({ apiKey: null, baseURL: fake.url, maxRetries: 0, defaultHeaders: { 'x-api-key': API_KEY } });
    const message = await viaHeader.messages.create({ model: 'claude-test', max_tokens: 64, messages: [{ role: 'user', content: 'hey' }] });
    expect(message.content[0]).toMatchObject({ type: 'text', text: defaultReply('hey') });
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('answers authentication_error with a request id to a wrong key', async () => {
    const stranger = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: fake.url, maxRetries: 0 });
    const error = await stranger.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(error).toMatchObject({ status: 401, type: 'authentication_error' });
    expect(error.requestID).toMatch(/^req_/);
    expect(error.error).toMatchObject({ type: 'error', request_id: error.requestID });
  });
});

describe('messages faults', () => {
  it('status: 429 with retry-after, 500, 503 HTML page, 529 overloaded', async () => {
    fake.faults.push(
      { kind: 'status', status: 429, retryAfterS: 3 },
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 529 },
    );
    const limited = await ask('x').catch((e) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(await ask('x').catch((e) => e)).toMatchObject({ status: 500, type: 'api_error' });
    const unavailable = await ask('x').catch((e) => e);
    expect(unavailable).toBeInstanceOf(Anthropic.InternalServerError);
    expect(unavailable.status).toBe(503);
    const overloaded = await ask('x').catch((e) => e);
    expect(overloaded).toBeInstanceOf(Anthropic.InternalServerError);
    expect(overloaded).toMatchObject({ status: 529, type: 'overloaded_error' });
  });

  it('reset and connection refused surface as APIConnectionError; delayHeaders as the SDK timeout', async () => {
    fake.faults.push({ kind: 'reset' }, { kind: 'delayHeaders', ms: 2_000 });
    expect(await ask('x').catch((e) => e)).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(await ask('x', { timeout: 100 }).catch((e) => e)).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    const nowhere = new Anthropic({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${await closedPort()}`, maxRetries: 0 });
    const refused = await nowhere.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(refused).toBeInstanceOf(Anthropic.APIConnectionError);
  });

  it("delayFirstChunk and a stall are not cut by the SDK's timeout; our own AbortSignal ends the stall", async () => {
    fake.faults.push({ kind: 'delayFirstChunk', ms: 300 });
    fake.script.pushReplies('slow start');
    expect((await collect(await ask('x', { timeout: 100 }))).text).toBe('slow start');

    fake.faults.push({ kind: 'stallAfter', chunks: 4, ms: 10_000 });
    fake.script.pushReplies('one two three');
    const deadline = AbortSignal.timeout(400);
    const outcome = await textUntilError(await ask('x', { timeout: 100, signal: deadline }));
    expect(deadline.aborted).toBe(true);
    // The SDK swallows the abort and ends the iteration; only the text before the stall arrived.
    expect(outcome).toEqual({ text: 'one', error: undefined });
    await waitFor('the fake to see the client close', () => fake.requests[1]?.clientAborted, 2_000);
  });

  it('destroyAfter throws TypeError: terminated, not an APIError', async () => {
    fake.faults.push({ kind: 'destroyAfter', chunks: 4 });
    fake.script.pushReplies('one two three');
    const outcome = await textUntilError(await ask('x'));
    expect(outcome.text).toBe('one');
    expect(outcome.error).toBeInstanceOf(TypeError);
    expect(outcome.error).not.toBeInstanceOf(Anthropic.APIError);
    expect(outcome.error?.message).toBe('terminated');
  });

  it('truncateAfter ends silently without message_stop', async () => {
    fake.faults.push({ kind: 'truncateAfter', chunks: 5 });
    fake.script.pushReplies('one two three');
    expect(await collect(await ask('x'))).toMatchObject({ text: 'one two', sawMessageStop: false, stopReason: undefined });
  });

  it('midStreamError is the in-stream error event: an APIError without status, typed overloaded_error', async () => {
    fake.faults.push({ kind: 'midStreamError', chunks: 4 });
    fake.script.pushReplies('one two three');
    const outcome = await textUntilError(await ask('x'));
    expect(outcome.text).toBe('one');
    expect(outcome.error).toBeInstanceOf(Anthropic.APIError);
    expect(outcome.error).toMatchObject({ status: undefined, type: 'overloaded_error' });
  });
});
