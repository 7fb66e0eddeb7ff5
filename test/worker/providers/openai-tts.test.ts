// The OpenAI speech adapter through the REAL openai SDK against the fake OpenAI: the exact 24 kHz PCM the vendor
// streams, every fault classified, a stall the SDK does not cut, and cancellation that reaches the wire.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../../fakes/openai.ts';
import { pcmFromText } from '../../fakes/kit/audio.ts';
import { closedPort } from '../../fakes/kit/server.ts';
import { waitFor } from '../../support/wait.ts';
import { ProviderError } from '../../../worker/pipeline/errors.ts';
import { createOpenAiTts, type OpenAiTtsOptions } from '../../../worker/providers/tts/openai.ts';
import type { TtsProvider, TtsRequest } from '../../../worker/providers/types.ts';
import { concatPcm } from '../../../worker/audio/frames.ts';

const TEXT = 'Hello there, how can I help you today?';

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


let fake: FakeOpenAI;
const speeches = () => fake.requests.filter((r) => r.route === 'speech');
const provider = (options: Partial<OpenAiTtsOptions> = {}) => createOpenAiTts({ apiKey: 'sk-test', baseUrl: `${fake.url}/v1`, ...options });

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake?.close();
});

describe('createOpenAiTts', () => {
  it('streams the exact 24 kHz PCM the vendor sends, in several chunks', async () => {
    const tts = provider();
    expect(tts.sampleRate).toBe(24_000);
    const { chunks, error } = await synthesize(tts, { text: TEXT, previousText: 'Hi.' });
    expect(error).toBeUndefined();
    expect(chunks.length).toBeGreaterThan(1);
    expect(concatPcm(chunks)).toEqual(pcmFromText(TEXT, 24_000));
    expect(JSON.parse(speeches()[0]?.bodyText ?? '{}')).toEqual({
      model: 'gpt-4o-mini-tts', voice: 'alloy', input: TEXT, response_format: 'pcm',
    });
  });

  it('sends the configured model, voice, instructions and speed', async () => {
    await synthesize(provider({ model: 'tts-1', voice: 'nova', instructions: 'Warm.', speed: 1.1 }));
    expect(JSON.parse(speeches()[0]?.bodyText ?? '{}')).toMatchObject({ model: 'tts-1', voice: 'nova', instructions: 'Warm.', speed: 1.1 });
  });

  it.each([
    [401, 'permanent'],
    [404, 'permanent'],
    [500, 'transient'],
    [503, 'transient'],
  ] as const)('classifies HTTP %i as %s', async (status, errorClass) => {
    fake.faults.push({ kind: 'status', status, route: 'speech' });
    const { error } = await synthesize(provider());
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ errorClass, status, provider: 'openai' });
  });

  it('classifies 429 as transient with the retry-after it names, without retrying', async () => {
    fake.faults.push({ kind: 'status', status: 429, retryAfterS: 3, route: 'speech' });
    expect((await synthesize(provider())).error).toMatchObject({ errorClass: 'transient', status: 429, retryAfterMs: 3_000 });
    expect(speeches()).toHaveLength(1);
  });

  it('classifies a refused connection, a reset and a socket destroyed mid-stream as transient', async () => {
    const nobody = createOpenAiTts({ apiKey: 'sk-test', baseUrl: `http://127.0.0.1:${await closedPort()}/v1` });
    expect((await synthesize(nobody)).error).toMatchObject({ errorClass: 'transient' });

    fake.faults.push({ kind: 'reset', route: 'speech' });
    expect((await synthesize(provider())).error).toMatchObject({ errorClass: 'transient' });

    fake.faults.push({ kind: 'destroyAfter', chunks: 2, route: 'speech' });
    const cut = await synthesize(provider());
    expect(cut.error).toMatchObject({ errorClass: 'transient' });
    expect(cut.chunks.length).toBeGreaterThan(0);
  });

  it('classifies headers later than the SDK timeout as a timeout', async () => {
    fake.faults.push({ kind: 'delayHeaders', ms: 3_000, route: 'speech' });
    expect((await synthesize(provider({ timeoutMs: 200 }))).error).toMatchObject({ errorClass: 'timeout' });
  });

  it('a clean early end cannot be detected (raw PCM has no terminator): fewer samples, no error', async () => {
    fake.faults.push({ kind: 'truncateAfter', chunks: 2, route: 'speech' });
    const { chunks, error } = await synthesize(provider());
    expect(error).toBeUndefined();
    expect(concatPcm(chunks).length).toBeLessThan(pcmFromText(TEXT, 24_000).length);
  });

  it('a stall mid-stream is not cut by the SDK (even with a short timeout): only the caller signal ends it', async () => {
    fake.faults.push({ kind: 'stallAfter', chunks: 2, ms: 10_000, route: 'speech' });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('test deadline')), 500);
    const { chunks, error } = await synthesize(provider({ timeoutMs: 200 }), { text: TEXT }, controller.signal);
    clearTimeout(timer);
    expect(chunks.length).toBeGreaterThan(0);
    expect(controller.signal.aborted).toBe(true);
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

  it('a consumer that stops early (no abort) releases the connection too', async () => {
    fake.setProfile({ audioRealtimeFactor: 1 });
    for await (const chunk of provider().synthesize({ text: TEXT }, AbortSignal.timeout(5_000))) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    await waitFor('the fake to see the client leave', () => speeches()[0]?.clientAborted, 5_000);
  });
});
