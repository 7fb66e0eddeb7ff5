// The ElevenLabs TTS adapter through the REAL @elevenlabs/elevenlabs-js SDK against the fake ElevenLabs: the exact PCM
// the vendor streams at the chosen rate, previous_text for prosody, every fault classified, a stall the SDK does not
// cut, and cancellation that reaches the wire.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeElevenLabs, type FakeElevenLabs } from '../../fakes/elevenlabs.ts';
import { pcmFromText } from '../../fakes/kit/audio.ts';
import { closedPort } from '../../fakes/kit/server.ts';
import { waitFor } from '../../support/wait.ts';
import { ProviderError } from '../../../worker/pipeline/errors.ts';
import {
  DEFAULT_ELEVENLABS_MODEL_ID,
  DEFAULT_ELEVENLABS_VOICE_ID,
  createElevenLabsTts,
  type ElevenLabsTtsOptions,
} from '../../../worker/providers/tts/elevenlabs.ts';
import type { TtsProvider, TtsRequest } from '../../../worker/providers/types.ts';
import { concatPcm } from '../../../worker/audio/frames.ts';

const TEXT = 'Sure, I can book that table for you.';

type Outcome = { chunks: Int16Array[]; error?: unknown };

async function synthesize(
  tts: TtsProvider,
  request: TtsRequest = { text: TEXT },
  signal = AbortSignal.timeout(5_000),
  onChunk?: (chunks: Int16Array[]) => void,
): Promise<Outcome> {
  const chunks: Int16Array[] = [];
  try {
    for await (const chunk of tts.synthesize(request, signal)) {
      chunks.push(chunk);
      onChunk?.(chunks);
    }
    return { chunks };
  } catch (error) {
    return { chunks, error };
  }
}


let fake: FakeElevenLabs;
const speeches = () => fake.requests.filter((r) => r.route === 'tts');
const provider = (options: Partial<ElevenLabsTtsOptions> = {}) => createElevenLabsTts({ apiKey: 'xi-test-key', baseUrl: fake.url, ...options });

beforeAll(async () => {
  fake = await startFakeElevenLabs();
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake?.close();
});

describe('createElevenLabsTts', () => {
  it('streams the exact pcm_24000 audio the vendor sends, asking with previous_text for prosody', async () => {
    const tts = provider();
    expect(tts.sampleRate).toBe(24_000);
    const { chunks, error } = await synthesize(tts, { text: TEXT, previousText: 'Let me check.' });
    expect(error).toBeUndefined();
    expect(chunks.length).toBeGreaterThan(1);
    expect(concatPcm(chunks)).toEqual(pcmFromText(TEXT, 24_000));

    const [request] = speeches();
    expect(request?.path).toBe(`/v1/text-to-speech/${DEFAULT_ELEVENLABS_VOICE_ID}/stream`);
    expect(request?.query.output_format).toBe('pcm_24000');
    expect(request?.headers['xi-api-key']).toBeDefined();
    expect(JSON.parse(request?.bodyText ?? '{}')).toEqual({ text: TEXT, model_id: DEFAULT_ELEVENLABS_MODEL_ID, previous_text: 'Let me check.' });
  });

  it('speaks at the configured rate with the configured voice, model and settings', async () => {
    const tts = provider({ sampleRate: 16_000, voiceId: 'voice-42', modelId: 'eleven_turbo_v2_5', voiceSettings: { stability: 0.4 } });
    expect(tts.sampleRate).toBe(16_000);
    const { chunks } = await synthesize(tts);
    expect(concatPcm(chunks)).toEqual(pcmFromText(TEXT, 16_000));
    const [request] = speeches();
    expect(request?.path).toBe('/v1/text-to-speech/voice-42/stream');
    expect(request?.query.output_format).toBe('pcm_16000');
    expect(JSON.parse(request?.bodyText ?? '{}')).toMatchObject({ model_id: 'eleven_turbo_v2_5', voice_settings: { stability: 0.4 } });
  });

  it.each([
    [401, 'permanent'],
    [404, 'permanent'],
    [422, 'permanent'],
    [500, 'transient'],
    [503, 'transient'],
  ] as const)('classifies HTTP %i as %s', async (status, errorClass) => {
    fake.faults.push({ kind: 'status', status, route: 'tts' });
    const { error } = await synthesize(provider());
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ errorClass, status, provider: 'elevenlabs' });
  });

  it('rejects a wrong key as permanent (the real 401 path, no fault injected)', async () => {
    const strict = await startFakeElevenLabs({ apiKey: 'the-right-key' });
    try {
      const { error } = await synthesize(createElevenLabsTts({ apiKey: 'a-wrong-key', baseUrl: strict.url }));
      expect(error).toMatchObject({ errorClass: 'permanent', status: 401 });
    } finally {
      await strict.close();
    }
  });

  it('classifies 429 as transient with the retry-after it names, without retrying', async () => {
    fake.faults.push({ kind: 'status', status: 429, retryAfterS: 4, route: 'tts' });
    expect((await synthesize(provider())).error).toMatchObject({ errorClass: 'transient', status: 429, retryAfterMs: 4_000 });
    expect(speeches()).toHaveLength(1);
  });

  it('classifies a refused connection, a reset and a socket destroyed mid-stream as transient', async () => {
    const nobody = createElevenLabsTts({ apiKey: 'xi-test-key', baseUrl: `http://127.0.0.1:${await closedPort()}` });
    expect((await synthesize(nobody)).error).toMatchObject({ errorClass: 'transient' });

    fake.faults.push({ kind: 'reset', route: 'tts' });
    expect((await synthesize(provider())).error).toMatchObject({ errorClass: 'transient' });

    fake.faults.push({ kind: 'destroyAfter', chunks: 2, route: 'tts' });
    const cut = await synthesize(provider());
    expect(cut.error).toMatchObject({ errorClass: 'transient' });
    expect(cut.chunks.length).toBeGreaterThan(0);
  });

  it('classifies headers later than the SDK timeout as a timeout', async () => {
    fake.faults.push({ kind: 'delayHeaders', ms: 3_000, route: 'tts' });
    expect((await synthesize(provider({ timeoutMs: 200 }))).error).toMatchObject({ errorClass: 'timeout' });
  });

  it('a clean early end cannot be detected over HTTP (raw PCM has no terminator): fewer samples, no error', async () => {
    fake.faults.push({ kind: 'truncateAfter', chunks: 2, route: 'tts' });
    const { chunks, error } = await synthesize(provider());
    expect(error).toBeUndefined();
    expect(concatPcm(chunks).length).toBeLessThan(pcmFromText(TEXT, 24_000).length);
  });

  it('a stall mid-stream is not cut by the SDK (even with a short timeout): only the caller signal ends it', async () => {
    fake.faults.push({ kind: 'stallAfter', chunks: 2, ms: 10_000, route: 'tts' });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('test deadline')), 500);
    const { chunks, error } = await synthesize(provider({ timeoutMs: 200 }), { text: TEXT }, controller.signal);
    clearTimeout(timer);
    expect(chunks.length).toBeGreaterThan(0);
    expect(controller.signal.aborted).toBe(true);
    expect(error).not.toBeInstanceOf(ProviderError);
    await waitFor('the fake to see the client leave', () => speeches()[0]?.clientAborted, 5_000);
  });

  it('cancellation before the headers stops the request and closes the connection', async () => {
    fake.faults.push({ kind: 'delayHeaders', ms: 10_000, route: 'tts' });
    const controller = new AbortController();
    const pending = synthesize(provider(), { text: TEXT }, controller.signal);
    await waitFor('the request to arrive', () => speeches()[0], 5_000);
    controller.abort();
    const { error } = await pending;
    expect(error).toBeDefined();
    expect(error).not.toBeInstanceOf(ProviderError);
    await waitFor('the fake to see the client leave', () => speeches()[0]?.clientAborted, 5_000);
  });

  it('cancellation after the first chunk stops the stream and closes the connection', async () => {
    fake.setProfile({ audioRealtimeFactor: 1 }); // real time: the rest of the audio is still to come when we leave
    const controller = new AbortController();
    const { chunks, error } = await synthesize(provider(), { text: TEXT }, controller.signal, () => controller.abort());
    expect(chunks).toHaveLength(1);
    expect(error).toBeDefined();
    expect(error).not.toBeInstanceOf(ProviderError);
    await waitFor('the fake to see the client leave', () => speeches()[0]?.clientAborted, 5_000);
  });
});
