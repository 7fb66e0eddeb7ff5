// The fake OpenAI through the real openai SDK: what the SDK surfaces for the happy path and for every fault.
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bufferToPcm, pcmFromText, rms, samplesFor, ttsDurationMsFor, wavFromPcm } from '../fakes/kit/audio.ts';
import { closedPort } from '../fakes/kit/server.ts';
import { defaultReply } from '../fakes/kit/script.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import type { FakeOpenAI } from '../fakes/openai.ts';
import { waitFor } from '../support/wait.ts';

const API_KEY = 'sk-test-fake';
let fake: FakeOpenAI;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: API_KEY });
  client = new OpenAI({ apiKey: API_KEY, baseURL: `${fake.url}/v1`, maxRetries: 0, timeout: 5_000 });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const ask = (text: string, extra: Partial<OpenAI.ChatCompletionCreateParamsStreaming> = {}, options: OpenAI.RequestOptions = {}) =>
  client.chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], stream: true, ...extra },
    options,
  );

type Collected = { text: string; chunks: OpenAI.ChatCompletionChunk[]; finishReason: string | null | undefined };

async function collect(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<Collected> {
  const collected: Collected = { text: '', chunks: [], finishReason: undefined };
  for await (const chunk of stream) {
    collected.chunks.push(chunk);
    collected.text += chunk.choices[0]?.delta.content ?? '';
    if (chunk.choices[0]) collected.finishReason = chunk.choices[0].finish_reason;
  }
  return collected;
}

/** Runs `work` with an AbortSignal that fires after `ms`; resolves to what happened (never hangs). */
async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>) {
  const deadline = AbortSignal.timeout(ms);
  try {
    return { value: await work(deadline), error: undefined, deadlineFired: deadline.aborted };
  } catch (error) {
    return { value: undefined, error, deadlineFired: deadline.aborted };
  }
}

describe('chat completions', () => {
  it('answers a prompt it was given an answer for every time, before the queue and without consuming it', async () => {
    fake.script.answer('What time is it?', 'It is noon.');
    fake.script.pushReplies('Queued reply.');
    // Asked twice (a dropped preemptive request and the turn's own): the same answer; the queue is untouched.
    expect((await collect(await ask('What time is it?'))).text).toBe('It is noon.');
    expect((await collect(await ask('What time is it?'))).text).toBe('It is noon.');
    // Another prompt (half the question) takes the queue, then the default.
    expect((await collect(await ask('What time is'))).text).toBe('Queued reply.');
    expect((await collect(await ask('What time is'))).text).toBe(defaultReply('What time is'));
    fake.reset();
    expect((await collect(await ask('What time is it?'))).text).toBe(defaultReply('What time is it?'));
  });

  it('streams the scripted reply in pieces that concatenate exactly, with [DONE] and usage', async () => {
    fake.script.pushReplies('Hello there, friend. How are you?');
    const result = await collect(await ask('hi', { stream_options: { include_usage: true } }));
    expect(result.text).toBe('Hello there, friend. How are you?');
    expect(result.finishReason).toBe('stop');
    expect(result.chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(result.chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(3);
    const usage = result.chunks.at(-1);
    expect(usage?.choices).toEqual([]);
    expect(usage?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(usage?.usage?.total_tokens).toBe((usage?.usage?.prompt_tokens ?? 0) + (usage?.usage?.completion_tokens ?? 0));
    expect(fake.requests[0]).toMatchObject({ route: 'chat', path: '/v1/chat/completions', finished: true, clientAborted: false });
    expect(fake.requests[0]?.headers['x-stainless-retry-count']).toBe('0');
    expect(JSON.parse(fake.requests[0]?.bodyText ?? '{}')).toMatchObject({ model: 'gpt-4o-mini', stream: true });
  });

  it('answers from the last user message when no reply is scripted, and whole completions too', async () => {
    expect((await collect(await ask('the weather'))).text).toBe(defaultReply('the weather'));
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ok' }] });
    expect(completion.choices[0]?.message.content).toBe(defaultReply('ok'));
    expect(completion._request_id).toMatch(/^req_/);
  });

  it('stops at max_completion_tokens with finish_reason length', async () => {
    fake.script.pushReplies('one two three four five');
    const result = await collect(await ask('count', { max_completion_tokens: 2 }));
    expect(result).toMatchObject({ text: 'one two', finishReason: 'length' });
  });

  it('answers 401 invalid_api_key to a wrong key and 400 to a malformed body', async () => {
    const stranger = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    const error = await stranger.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
    expect(error.requestID).toMatch(/^req_/);
    const bad = await client.chat.completions.create({ model: 'm', messages: [] }).catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.param).toBe('messages');
  });
});

describe('chat completion faults', () => {
  it('status: 429 with retry-after, 500, and 503 as an HTML page', async () => {
    fake.faults.push({ kind: 'status', status: 429, retryAfterS: 7 }, { kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    const limited = await ask('x').catch((e) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect(limited.headers.get('retry-after')).toBe('7');
    const failed = await ask('x').catch((e) => e);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    expect(failed).toMatchObject({ status: 500, type: 'server_error' });
    const unavailable = await ask('x').catch((e) => e);
    expect(unavailable).toBeInstanceOf(OpenAI.InternalServerError);
    expect(unavailable.status).toBe(503);
    expect(unavailable.message).toContain('503 Service Temporarily Unavailable');
  });

  it('reset and connection refused surface as APIConnectionError', async () => {
    fake.faults.push({ kind: 'reset' });
    expect(await ask('x').catch((e) => e)).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(fake.requests[0]?.serverDestroyed).toBe(true);
    const nowhere = new OpenAI({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${await closedPort()}/v1`, maxRetries: 0 });
    const refused = await nowhere.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(refused).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it("delayHeaders trips the SDK's own timeout", async () => {
    fake.faults.push({ kind: 'delayHeaders', ms: 2_000 });
    const error = await ask('x', {}, { timeout: 100 }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await waitFor('the fake to see the client give up', () => fake.requests[0]?.clientAborted, 2_000);
    expect(fake.requests[0]?.status).toBeUndefined();
  });

  it("delayFirstChunk is NOT cut by the SDK's timeout: headers came, the stream just waits", async () => {
    fake.faults.push({ kind: 'delayFirstChunk', ms: 300 });
    fake.script.pushReplies('late but fine');
    const result = await collect(await ask('x', {}, { timeout: 100 }));
    expect(result).toMatchObject({ text: 'late but fine', finishReason: 'stop' });
  });

  it("stallAfter hangs past the SDK's timeout until our own AbortSignal ends it; the fake sees the client leave", async () => {
    fake.faults.push({ kind: 'stallAfter', chunks: 2, ms: 10_000 });
    fake.script.pushReplies('one two three');
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const outcome = await withDeadline(400, async (signal) => {
      for await (const chunk of await ask('x', {}, { timeout: 100, signal })) chunks.push(chunk);
    });
    expect(outcome.deadlineFired).toBe(true);
    // openai 7.x ends the iteration SILENTLY when the caller aborts mid-stream: no error, no finish_reason.
    expect(outcome.error).toBeUndefined();
    expect(chunks.map((c) => c.choices[0]?.delta.content)).toEqual(['', 'one']);
    await waitFor('the fake to see the client close', () => fake.requests[0]?.clientAborted, 2_000);
    expect(fake.requests[0]?.finished).toBe(false);
  });

  it('stallAfter for a short while only delays the stream', async () => {
    fake.faults.push({ kind: 'stallAfter', chunks: 1, ms: 100 });
    fake.script.pushReplies('after a pause');
    expect((await collect(await ask('x'))).text).toBe('after a pause');
  });

  it('destroyAfter throws TypeError: terminated mid-stream, not an APIError', async () => {
    fake.faults.push({ kind: 'destroyAfter', chunks: 2 });
    fake.script.pushReplies('one two three');
    const chunks: string[] = [];
    const error = await (async () => {
      for await (const chunk of await ask('x')) chunks.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(OpenAI.APIError);
    expect(error.message).toBe('terminated');
    expect(chunks).toEqual(['', 'one']);
  });

  it('truncateAfter ends the stream silently without a finish_reason', async () => {
    fake.faults.push({ kind: 'truncateAfter', chunks: 3 });
    fake.script.pushReplies('one two three four');
    const result = await collect(await ask('x'));
    expect(result).toMatchObject({ text: 'one two', finishReason: null });
  });

  it('midStreamError throws an APIError without status after the first chunks', async () => {
    fake.faults.push({ kind: 'midStreamError', chunks: 2 });
    fake.script.pushReplies('one two three');
    let text = '';
    const error = await (async () => {
      for await (const chunk of await ask('x')) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBeUndefined();
    expect(error.message).toContain('The server had an error');
    expect(text).toBe('one');
  });

  it('faults filtered by route wait for their route, and `times` repeats them', async () => {
    fake.faults.push({ kind: 'status', status: 500, route: 'speech' }, { kind: 'status', status: 429, times: 2 });
    expect(await ask('x').catch((e) => e)).toBeInstanceOf(OpenAI.RateLimitError);
    expect(await ask('x').catch((e) => e)).toBeInstanceOf(OpenAI.RateLimitError);
    expect((await collect(await ask('x'))).finishReason).toBe('stop');
    const speech = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hi', response_format: 'pcm' }).catch((e) => e);
    expect(speech).toBeInstanceOf(OpenAI.InternalServerError);
  });
});

describe('audio transcriptions', () => {
  const wav = () => toFile(wavFromPcm(pcmFromText('some speech here', 16_000), 16_000), 'utterance.wav', { type: 'audio/wav' });

  it('returns the scripted transcript as json with the duration of the uploaded WAV', async () => {
    fake.script.pushTranscripts('turn on the lights');
    const result = await client.audio.transcriptions.create({ file: await wav(), model: 'whisper-1' });
    expect(result.text).toBe('turn on the lights');
    expect(result).toMatchObject({ usage: { type: 'duration', seconds: Math.ceil(ttsDurationMsFor('some speech here') / 1000) } });
    expect(fake.requests[0]?.fields).toMatchObject({ model: 'whisper-1', file: expect.stringMatching(/^utterance\.wav \(\d+ bytes\)$/) });
  });

  it('answers text and verbose_json with words, and the default transcript when none is scripted', async () => {
    const text = await client.audio.transcriptions.create({ file: await wav(), model: 'whisper-1', response_format: 'text' });
    expect(text).toBe('hello there');
    const verbose = await client.audio.transcriptions.create({
      file: await wav(), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word'],
    });
    expect(verbose.words?.map((w) => w.word)).toEqual(['hello', 'there']);
    expect(verbose.duration).toBeCloseTo(ttsDurationMsFor('some speech here') / 1000, 2);
  });

  it('applies faults on its own route: 429, and a body truncated to nothing', async () => {
    fake.faults.push({ kind: 'status', status: 429, route: 'transcriptions' }, { kind: 'truncateAfter', chunks: 0, route: 'transcriptions' });
    expect(await client.audio.transcriptions.create({ file: await wav(), model: 'whisper-1' }).catch((e) => e)).toBeInstanceOf(OpenAI.RateLimitError);
    const empty = await client.audio.transcriptions.create({ file: await wav(), model: 'whisper-1' });
    expect(empty).toBeUndefined(); // a JSON content-type with an empty body: the SDK hands back undefined
  });
});

describe('audio speech', () => {
  it('streams 24 kHz PCM of the expected length, audible, in chunks', async () => {
    const response = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hello world', response_format: 'pcm' });
    expect(response.headers.get('content-type')).toBe('audio/pcm');
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    const pcm = bufferToPcm(new Uint8Array(await response.arrayBuffer()));
    expect(pcm.length).toBe(samplesFor(ttsDurationMsFor('Hello world'), 24_000));
    expect(pcm).toEqual(pcmFromText('Hello world', 24_000));
    expect(rms(pcm)).toBeGreaterThan(1_000);
  });

  it('serves WAV with a header, and refuses formats it cannot encode', async () => {
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi', response_format: 'wav' });
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.toString('ascii', 0, 4)).toBe('RIFF');
    expect(bytes.readUInt32LE(24)).toBe(24_000);
    expect(bytes.length).toBe(44 + samplesFor(ttsDurationMsFor('Hi'), 24_000) * 2);
    const mp3 = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi' }).catch((e) => e);
    expect(mp3).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('destroyAfter cuts the body with TypeError: terminated; an aborted read is seen by the fake', async () => {
    fake.faults.push({ kind: 'destroyAfter', chunks: 3 });
    const cut = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'a long sentence to speak', response_format: 'pcm' });
    const error = await cut.arrayBuffer().catch((e) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('terminated');

    fake.faults.push({ kind: 'stallAfter', chunks: 1, ms: 10_000 });
    const controller = new AbortController();
    const stalled = await client.audio.speech.create(
      { model: 'tts-1', voice: 'alloy', input: 'stalled speech', response_format: 'pcm' },
      { signal: controller.signal, timeout: 100 },
    );
    const reader = stalled.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    setTimeout(() => controller.abort(), 200);
    await expect(reader.read()).rejects.toThrow();
    await waitFor('the fake to see the client close', () => fake.requests[1]?.clientAborted, 2_000);
  });
});
