// The OpenAI transcription adapter through the REAL openai SDK against the fake OpenAI: the utterance uploaded as a
// proper WAV once its audio ends, one final result, every fault classified, and cancellation that reaches the wire.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../../fakes/openai.ts';
import { uploadDurationS } from '../../fakes/openai-audio.ts';
import { closedPort } from '../../fakes/kit/server.ts';
import { waitFor } from '../../support/wait.ts';
import { ProviderError } from '../../../worker/fallback/errors.ts';
import { encodeWav } from '../../../worker/audio/wav.ts';
import { createOpenAiStt, type OpenAiSttOptions } from '../../../worker/providers/stt/openai.ts';
import type { SttEvent, SttProvider } from '../../../worker/providers/types.ts';

const SAMPLE_RATE = 16_000;

function tone(ms: number): Int16Array {
  const pcm = new Int16Array(Math.floor((ms * SAMPLE_RATE) / 1000));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE));
  return pcm;
}

async function* frames(pcm: Int16Array): AsyncGenerator<Int16Array> {
  for (let offset = 0; offset < pcm.length; offset += 320) yield pcm.subarray(offset, offset + 320);
}

type Outcome = { events: SttEvent[]; error?: unknown };

async function transcribe(stt: SttProvider, pcm: Int16Array, signal = AbortSignal.timeout(5_000), language?: string): Promise<Outcome> {
  const events: SttEvent[] = [];
  try {
    const request = { audio: frames(pcm), sampleRate: SAMPLE_RATE, ...(language ? { language } : {}) };
    for await (const event of stt.transcribe(request, signal)) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

let fake: FakeOpenAI;
const transcriptions = () => fake.requests.filter((r) => r.route === 'transcriptions');
const provider = (options: Partial<OpenAiSttOptions> = {}) =>
  createOpenAiStt({ apiKey: 'sk-test', baseUrl: `${fake.url}/v1`, ...options });

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake?.close();
});

describe('createOpenAiStt', () => {
  it('uploads the whole utterance as a 16-bit mono WAV and yields one final result', async () => {
    fake.script.pushTranscripts('turn on the lights');
    const stt = provider();
    expect(stt.streaming).toBe(false);
    const audio = tone(700);
    expect(await transcribe(stt, audio, undefined, 'en-US')).toEqual({
      events: [{ type: 'final', text: 'turn on the lights', speechFinal: true }],
    });
    const [request] = transcriptions();
    expect(request?.fields).toEqual({
      file: `utterance.wav (${44 + audio.length * 2} bytes)`,
      model: 'gpt-4o-mini-transcribe',
      response_format: 'json',
      language: 'en', // ISO-639-1, as the API wants it
    });
  });

  it('encodes a WAV whose header tells the right duration', () => {
    const wav = encodeWav(tone(1_250), SAMPLE_RATE);
    expect(Buffer.from(wav.subarray(0, 4)).toString('ascii')).toBe('RIFF');
    expect(uploadDurationS(wav)).toBeCloseTo(1.25, 5);
  });

  it('uses the configured model and sends no language when none is known', async () => {
    await transcribe(provider({ model: 'whisper-1' }), tone(300));
    expect(transcriptions()[0]?.fields).toMatchObject({ model: 'whisper-1' });
    expect(transcriptions()[0]?.fields).not.toHaveProperty('language');
  });

  it('sends nothing for an utterance without audio', async () => {
    expect(await transcribe(provider(), new Int16Array(0))).toEqual({ events: [] });
    expect(transcriptions()).toEqual([]);
  });

  it.each([
    [401, 'permanent'],
    [400, 'permanent'],
    [500, 'transient'],
    [503, 'transient'],
  ] as const)('classifies HTTP %i as %s', async (status, errorClass) => {
    fake.faults.push({ kind: 'status', status, route: 'transcriptions' });
    const { error } = await transcribe(provider(), tone(300));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ errorClass, status, provider: 'openai' });
  });

  it('classifies 429 as transient with the retry-after it names', async () => {
    fake.faults.push({ kind: 'status', status: 429, retryAfterS: 2, route: 'transcriptions' });
    const { error } = await transcribe(provider(), tone(300));
    expect(error).toMatchObject({ errorClass: 'transient', status: 429, retryAfterMs: 2_000 });
    expect(transcriptions()).toHaveLength(1); // no retry behind the engine's back
  });

  it('classifies a reset connection and a refused one as transient', async () => {
    fake.faults.push({ kind: 'reset', route: 'transcriptions' });
    expect((await transcribe(provider(), tone(300))).error).toMatchObject({ errorClass: 'transient' });

    const nobody = createOpenAiStt({ apiKey: 'sk-test', baseUrl: `http://127.0.0.1:${await closedPort()}/v1` });
    expect((await transcribe(nobody, tone(300))).error).toMatchObject({ errorClass: 'transient' });
  });

  it('detects a response body cut to nothing as truncated', async () => {
    fake.faults.push({ kind: 'truncateAfter', chunks: 0, route: 'transcriptions' });
    expect((await transcribe(provider(), tone(300))).error).toMatchObject({ errorClass: 'truncated' });
  });

  it('classifies headers later than the SDK timeout as a timeout', async () => {
    fake.faults.push({ kind: 'delayHeaders', ms: 3_000, route: 'transcriptions' });
    expect((await transcribe(provider({ timeoutMs: 200 }), tone(300))).error).toMatchObject({ errorClass: 'timeout' });
  });

  it('a JSON body stalled after the headers runs into the SDK timeout too (it covers the whole request): a timeout', async () => {
    fake.faults.push({ kind: 'stallAfter', chunks: 0, ms: 10_000, route: 'transcriptions' });
    expect((await transcribe(provider({ timeoutMs: 200 }), tone(300))).error).toMatchObject({ errorClass: 'timeout' });
  });

  it('a stalled body under the generous default timeout ends only by the caller signal, and the fake sees the client go', async () => {
    fake.faults.push({ kind: 'stallAfter', chunks: 0, ms: 10_000, route: 'transcriptions' });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('test deadline')), 300);
    const { events, error } = await transcribe(provider(), tone(300), controller.signal);
    clearTimeout(timer);
    expect(events).toEqual([]);
    expect(controller.signal.aborted).toBe(true);
    expect(error).not.toBeInstanceOf(ProviderError); // the abort surfaces as an abort, never as the provider's fault
    await waitFor('the fake to see the client leave', () => transcriptions()[0]?.clientAborted, 5_000);
  });

  it('cancellation while the upload waits for its answer closes the request', async () => {
    fake.faults.push({ kind: 'delayHeaders', ms: 10_000, route: 'transcriptions' });
    const controller = new AbortController();
    const pending = transcribe(provider(), tone(300), controller.signal);
    await waitFor('the upload to arrive', () => transcriptions()[0], 5_000);
    controller.abort();
    const { error } = await pending;
    expect(error).toBeDefined();
    expect(error).not.toBeInstanceOf(ProviderError);
    await waitFor('the fake to see the client leave', () => transcriptions()[0]?.clientAborted, 5_000);
  });
});
