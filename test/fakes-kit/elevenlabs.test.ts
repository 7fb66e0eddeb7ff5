// The fake ElevenLabs through the REAL @elevenlabs/elevenlabs-js 2.x client (HTTP streaming) and through `ws` for the
// stream-input WebSocket no SDK wraps: exact audio, the vendor's error bodies and classes, and every stream fault.
import { ElevenLabs, ElevenLabsClient, ElevenLabsError, ElevenLabsTimeoutError } from '@elevenlabs/elevenlabs-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pcmFromText, pcmToBuffer, samplesFor, ttsDurationMsFor } from '../fakes/kit/audio.ts';
import { closedPort } from '../fakes/kit/server.ts';
import { startFakeElevenLabs, type FakeElevenLabs } from '../fakes/elevenlabs.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { openStreamInput } from './stream-input-harness.ts';

const VOICE = 'JBFqnCBsd6RMkjVDRZzb';
const TEXT = 'Your table for two is booked at eight.';
let fake: FakeElevenLabs;

beforeAll(async () => {
  fake = await startFakeElevenLabs({ inactivityTimeoutMs: 300 });
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake?.close();
});

const client = (options: { apiKey?: string; timeoutInSeconds?: number; baseUrl?: string } = {}) =>
  new ElevenLabsClient({ apiKey: 'xi-test-key', baseUrl: fake.url, maxRetries: 0, ...options });

const speak = (c: ElevenLabsClient, text = TEXT, requestOptions: { abortSignal?: AbortSignal } = {}) =>
  c.textToSpeech.stream(
    VOICE,
    { text, modelId: 'eleven_flash_v2_5', outputFormat: 'pcm_16000', voiceSettings: { stability: 0.5, similarityBoost: 0.75 } },
    requestOptions,
  );

/** Reads a web stream to the end, counting chunks. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ bytes: Buffer; chunks: number }> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

/** The SDK's error for a request, or a failure if it succeeded. */
async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the request to fail');
}

const expectedPcm = (text: string, sampleRate: number) => pcmToBuffer(pcmFromText(text, sampleRate));

describe('fake ElevenLabs HTTP streaming (through @elevenlabs/elevenlabs-js 2.x)', () => {
  it('streams the text as raw s16le PCM at the requested rate, in many chunks', async () => {
    const { bytes, chunks } = await drain(await speak(client()));
    expect(bytes.equals(expectedPcm(TEXT, 16_000))).toBe(true);
    expect(bytes.length).toBe(samplesFor(ttsDurationMsFor(TEXT), 16_000) * 2);
    expect(chunks).toBeGreaterThan(1);

    const [request] = fake.requests;
    expect(request).toMatchObject({ route: 'tts', method: 'POST', path: `/v1/text-to-speech/${VOICE}/stream`, status: 200, finished: true });
    expect(request?.query.output_format).toBe('pcm_16000');
    expect(request?.headers['xi-api-key']).toBe('***-key'); // the kit masks keys in its request log
    expect(JSON.parse(request?.bodyText ?? '{}')).toMatchObject({
      text: TEXT,
      model_id: 'eleven_flash_v2_5',
      voice_settings: { stability: 0.5, similarity_boost: 0.75 },
    });
  });

  it.each(['pcm_22050', 'pcm_24000', 'pcm_44100'] as const)('speaks %s at that rate', async (outputFormat) => {
    const stream = await client().textToSpeech.stream(VOICE, { text: 'Hello.', outputFormat });
    const { bytes } = await drain(stream);
    expect(bytes.equals(expectedPcm('Hello.', Number(outputFormat.slice(4))))).toBe(true);
  });

  it('answers a wrong key with 401 invalid_api_key, and a bad body with 422 and the offending field', async () => {
    const strict = await startFakeElevenLabs({ apiKey: 'right-key' });
    try {
      const unauthorized = await failureOf(speak(client({ apiKey: 'wrong-key', baseUrl: strict.url })));
      expect(unauthorized).toBeInstanceOf(ElevenLabsError);
      expect(unauthorized).toMatchObject({ statusCode: 401, body: { detail: { status: 'invalid_api_key' } } });
    } finally {
      await strict.close();
    }
    const invalid = await failureOf(
      client().textToSpeech.stream(VOICE, { text: 'Hi.', outputFormat: 'pcm_16000', voiceSettings: { stability: 5 } }),
    );
    expect(invalid).toBeInstanceOf(ElevenLabs.UnprocessableEntityError);
    expect(invalid).toMatchObject({ statusCode: 422, body: { detail: [{ loc: ['body', 'voice_settings', 'stability'], type: 'less_than_equal' }] } });

    const noText = await fetch(`${fake.url}/v1/text-to-speech/${VOICE}/stream?output_format=pcm_16000`, {
      method: 'POST',
      headers: { 'xi-api-key': 'k', 'content-type': 'application/json' },
      body: JSON.stringify({ model_id: 'eleven_flash_v2_5' }),
    });
    expect(noText.status).toBe(422);
    expect(await noText.json()).toEqual({ detail: [{ loc: ['body', 'text'], msg: 'Field required', type: 'missing' }] });
  });
});

describe('fake ElevenLabs HTTP faults', () => {
  it('status: 429 with the vendor body and retry-after, 503 as an HTML page, 500; never retried', async () => {
    fake.faults.push({ kind: 'status', status: 429, retryAfterS: 2 }, { kind: 'status', status: 503 }, { kind: 'status', status: 500 });
    const busy = await failureOf(speak(client()));
    expect(busy).toMatchObject({ statusCode: 429, body: { detail: { status: 'too_many_concurrent_requests' } } });
    expect((busy as ElevenLabsError).rawResponse?.headers.get('retry-after')).toBe('2');
    const unavailable = await failureOf(speak(client()));
    expect(unavailable).toMatchObject({ statusCode: 503 });
    expect(String((unavailable as ElevenLabsError).body)).toContain('<html>');
    expect(await failureOf(speak(client()))).toMatchObject({ statusCode: 500, body: { detail: { status: 'internal_server_error' } } });
    expect(fake.requests).toHaveLength(3);
  });

  it('reset and connection refused: an ElevenLabsError without a status code', async () => {
    fake.faults.push({ kind: 'reset' });
    const reset = await failureOf(speak(client()));
    expect(reset).toBeInstanceOf(ElevenLabsError);
    expect((reset as ElevenLabsError).statusCode).toBeUndefined();
    const refused = await failureOf(speak(client({ baseUrl: `http://127.0.0.1:${await closedPort()}` })));
    expect(refused).toBeInstanceOf(ElevenLabsError);
    expect((refused as ElevenLabsError).statusCode).toBeUndefined();
  });

  it('delayHeaders past the SDK timeout: a plain ElevenLabsError whose cause is "timeout" (not ElevenLabsTimeoutError)', async () => {
    fake.faults.push({ kind: 'delayHeaders', ms: 2_000 });
    const timedOut = await failureOf(speak(client({ timeoutInSeconds: 0.2 })));
    // The SDK aborts fetch with the string "timeout", which its own AbortError check misses: adapters must look at cause.
    expect(timedOut).toBeInstanceOf(ElevenLabsError);
    expect(timedOut).not.toBeInstanceOf(ElevenLabsTimeoutError);
    expect(timedOut).toMatchObject({ statusCode: undefined, cause: 'timeout' });
  });

  it('delayFirstChunk: headers in time, so the SDK timeout does not fire and the audio still arrives whole', async () => {
    fake.faults.push({ kind: 'delayFirstChunk', ms: 600 });
    const { bytes } = await drain(await speak(client({ timeoutInSeconds: 0.2 })));
    expect(bytes.equals(expectedPcm(TEXT, 16_000))).toBe(true);
  });

  it('stallAfter: the SDK waits forever on its own; our AbortSignal ends it and the fake sees the client leave', async () => {
    fake.faults.push({ kind: 'stallAfter', chunks: 2, ms: 30_000 });
    const controller = new AbortController();
    const stream = await speak(client(), TEXT, { abortSignal: controller.signal });
    const reader = stream.getReader();
    const beforeStall = 2 * 640; // two 20 ms chunks at 16 kHz, however the socket happens to group them
    for (let received = 0; received < beforeStall; ) received += (await reader.read()).value?.length ?? beforeStall;
    const stalled = reader.read();
    const outcome = await Promise.race([stalled.then(() => 'data'), sleep(300).then(() => 'still waiting')]);
    expect(outcome).toBe('still waiting');
    controller.abort();
    await expect(stalled).rejects.toThrow();
    await waitFor('the fake to see the client leave', () => fake.requests[0]?.clientAborted);
  });

  it.each(['destroyAfter', 'midStreamError'] as const)('%s: raw audio has no error frame, so the read fails with TypeError terminated', async (kind) => {
    fake.faults.push({ kind, chunks: 3 });
    const stream = await speak(client());
    await expect(drain(stream)).rejects.toThrow(/terminated/);
    expect(fake.requests[0]).toMatchObject({ fault: kind, serverDestroyed: true, clientAborted: false });
  });

  it('truncateAfter: the stream ends cleanly but short, which only a length check can tell', async () => {
    fake.faults.push({ kind: 'truncateAfter', chunks: 3 });
    const { bytes, chunks } = await drain(await speak(client()));
    expect(chunks).toBeLessThanOrEqual(3);
    expect(bytes.length).toBeLessThan(expectedPcm(TEXT, 16_000).length);
    expect(expectedPcm(TEXT, 16_000).subarray(0, bytes.length).equals(bytes)).toBe(true);
  });
});

describe('fake ElevenLabs stream-input WebSocket (through ws)', () => {
  it('speaks flushed text and the rest at end of input, aligned per generation, then isFinal and close 1000', async () => {
    const call = await openStreamInput(fake.url, VOICE, { headers: { 'xi-api-key': 'xi-test-key' } });
    call.send({ text: ' ', voice_settings: { stability: 0.5, similarity_boost: 0.8 } });
    call.send({ text: 'Hello there. ', flush: true });
    await call.waitFor('the flushed audio', (m) => 'audio' in m);
    call.send({ text: 'How can I help? ' });
    call.send({ text: '' });
    expect(await call.closed).toEqual({ code: 1000, reason: '' });

    expect(call.messages.at(-1)).toEqual({ isFinal: true });
    const audio = call.messages.filter((m) => 'audio' in m);
    expect(Buffer.concat(audio.map((m) => Buffer.from(String(m.audio), 'base64'))).equals(
      Buffer.concat([expectedPcm('Hello there. ', 24_000), expectedPcm('How can I help? ', 24_000)]),
    )).toBe(true);
    const aligned = audio.filter((m) => m.alignment !== null);
    expect(aligned.map((m) => (m.alignment as { chars: string[] }).chars.join(''))).toEqual(['Hello there. ', 'How can I help? ']);
    const durations = (aligned[1]?.alignment as { charDurationsMs: number[] }).charDurationsMs;
    expect(durations.reduce((a, b) => a + b, 0)).toBe(ttsDurationMsFor('How can I help? '));
    expect(audio.every((m) => m.isFinal === null)).toBe(true);
  });

  it('follows the chunk length schedule without a flush, and takes the key from the first message', async () => {
    const call = await openStreamInput(fake.url, VOICE);
    call.send({ text: ' ', 'xi-api-key': 'xi-test-key', generation_config: { chunk_length_schedule: [20] } });
    call.send({ text: 'Short. ' });
    await sleep(100);
    expect(call.messages).toEqual([]); // 7 characters: below the schedule, nothing is spoken yet
    call.send({ text: 'Now this is long enough. ' });
    await call.waitFor('audio triggered by the schedule', (m) => 'audio' in m);
    expect(fake.requests[0]?.bodyText).toContain('"xi-api-key":"***"');
    call.ws.close();
  });

  it('refuses a wrong key in the first message with an error message and close 1008', async () => {
    const strict = await startFakeElevenLabs({ apiKey: 'right-key' });
    try {
      const call = await openStreamInput(strict.url, VOICE);
      call.send({ text: ' ', 'xi-api-key': 'wrong-key' });
      expect((await call.closed).code).toBe(1008);
      expect(call.messages).toEqual([{ message: 'Invalid API key', error: 'invalid_api_key', code: 1008 }]);
    } finally {
      await strict.close();
    }
  });

  it('closes an idle stream with input_timeout_exceeded and 1008', async () => {
    const call = await openStreamInput(fake.url, VOICE, { headers: { 'xi-api-key': 'k' } });
    call.send({ text: ' ' });
    expect((await call.closed).code).toBe(1008);
    expect(call.messages).toEqual([expect.objectContaining({ error: 'input_timeout_exceeded', code: 1008 })]);
  });

  it('faults: midStreamError closes 1011 after N audio messages; truncateAfter closes 1000 with no isFinal; rejectHandshake', async () => {
    fake.faults.push({ kind: 'midStreamError', chunks: 2 }, { kind: 'truncateAfter', chunks: 2 }, { kind: 'rejectHandshake', status: 429 });
    const failing = await openStreamInput(fake.url, VOICE, { headers: { 'xi-api-key': 'k' } });
    failing.send({ text: ' ' });
    failing.send({ text: TEXT, flush: true });
    expect((await failing.closed).code).toBe(1011);
    expect(failing.messages.filter((m) => 'audio' in m)).toHaveLength(2);
    expect(failing.messages.at(-1)).toMatchObject({ error: 'internal_server_error', code: 1011 });

    const truncated = await openStreamInput(fake.url, VOICE, { headers: { 'xi-api-key': 'k' } });
    truncated.send({ text: ' ' });
    truncated.send({ text: `${TEXT} ` });
    truncated.send({ text: '' });
    expect((await truncated.closed).code).toBe(1000);
    expect(truncated.messages).toHaveLength(2);
    expect(truncated.messages.some((m) => m.isFinal === true)).toBe(false);

    await expect(openStreamInput(fake.url, VOICE, { headers: { 'xi-api-key': 'k' } })).rejects.toThrow(/429/);
  });
});
