// What every HTTP TTS adapter must do, run through its real SDK against its fake vendor: the same suite for OpenAI and
// ElevenLabs (each test file adds what is its vendor's own). Every wait is bounded; aborts come from test timers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { concatPcm } from '../../../worker/audio/frames.ts';
import { ProviderError } from '../../../worker/fallback/errors.ts';
import type { TtsProvider, TtsRequest } from '../../../worker/providers/types.ts';
import { pcmFromText } from '../../fakes/kit/audio.ts';
import { closedPort, type FakeServer } from '../../fakes/kit/server.ts';
import { waitFor } from '../../support/wait.ts';

export const API_KEY = 'test-key-right';
export const TEXT = 'Sure, I can book that table for you.';

export interface AdapterOptions {
  apiKey?: string;
  /** The host only (http://127.0.0.1:<port>): the adapter adds whatever path its SDK wants. */
  baseUrl?: string;
  timeoutMs?: number;
}

export interface TtsContractSubject {
  name: string;
  /** The fake's route name for faults and recorded requests ('speech', 'tts'). */
  route: string;
  /** The rate the adapter speaks at when none is configured. */
  sampleRate: number;
  /** Vendor statuses the adapter must classify, besides 429 (tested on its own). */
  permanentStatuses: number[];
  transientStatuses: number[];
  /** The fake, accepting only `apiKey`. */
  startFake(apiKey: string): Promise<FakeServer>;
  /** The adapter pointed at the fake (`baseUrl` overrides the fake's). */
  create(fake: FakeServer, options?: AdapterOptions): TtsProvider;
}

export interface Outcome {
  chunks: Int16Array[];
  error?: unknown;
}

/** Reads the whole stream (bounded by `signal`, 5 s unless given); `onChunk` sees the chunks so far after each one. */
export async function synthesize(
  tts: TtsProvider,
  request: TtsRequest = { text: TEXT },
  signal: AbortSignal = AbortSignal.timeout(5_000),
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

export function describeTtsContract(subject: TtsContractSubject): { fake(): FakeServer; speeches(): FakeServer['requests'] } {
  let fake: FakeServer;
  let tts: TtsProvider;
  const speeches = () => fake.requests.filter((r) => r.route === subject.route);
  beforeAll(async () => {
    fake = await subject.startFake(API_KEY);
    tts = subject.create(fake);
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  describe(`${subject.name} TTS adapter: the contract`, () => {
    it('streams the exact PCM the vendor sends at its default rate, in several chunks', async () => {
      expect(tts).toMatchObject({ modality: 'tts', name: subject.name, sampleRate: subject.sampleRate });
      const { chunks, error } = await synthesize(tts, { text: TEXT, previousText: 'Let me check.' });
      expect(error).toBeUndefined();
      expect(chunks.length).toBeGreaterThan(1);
      expect(concatPcm(chunks)).toEqual(pcmFromText(TEXT, subject.sampleRate));
      expect(speeches()).toHaveLength(1);
    });

    it.each([
      ...subject.permanentStatuses.map((status) => [status, 'permanent'] as const),
      ...subject.transientStatuses.map((status) => [status, 'transient'] as const),
    ])('classifies HTTP %i as %s', async (status, errorClass) => {
      fake.faults.push({ kind: 'status', status, route: subject.route });
      const { error } = await synthesize(tts);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ errorClass, status, provider: subject.name });
    });

    it('rejects a wrong key as permanent (the real 401 path, no fault injected)', async () => {
      const { error } = await synthesize(subject.create(fake, { apiKey: 'test-key-wrong' }));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ errorClass: 'permanent', status: 401, provider: subject.name });
      expect((error as Error).message).not.toContain('test-key-wrong');
    });

    it('classifies 429 as transient with the retry-after it names, without retrying', async () => {
      fake.faults.push({ kind: 'status', status: 429, retryAfterS: 4, route: subject.route });
      expect((await synthesize(tts)).error).toMatchObject({ errorClass: 'transient', status: 429, retryAfterMs: 4_000 });
      expect(speeches()).toHaveLength(1);
    });

    it('classifies a refused connection, a reset and a socket destroyed mid-stream as transient', async () => {
      const nobody = subject.create(fake, { baseUrl: `http://127.0.0.1:${await closedPort()}` });
      expect((await synthesize(nobody)).error).toMatchObject({ errorClass: 'transient' });

      fake.faults.push({ kind: 'reset', route: subject.route });
      expect((await synthesize(tts)).error).toMatchObject({ errorClass: 'transient' });

      fake.faults.push({ kind: 'destroyAfter', chunks: 2, route: subject.route });
      const cut = await synthesize(tts);
      expect(cut.error).toMatchObject({ errorClass: 'transient' });
      expect(cut.chunks.length).toBeGreaterThan(0);
    });

    it('classifies headers later than the SDK timeout as a timeout', async () => {
      fake.faults.push({ kind: 'delayHeaders', ms: 3_000, route: subject.route });
      expect((await synthesize(subject.create(fake, { timeoutMs: 200 }))).error).toMatchObject({ errorClass: 'timeout' });
    });

    it('a clean early end cannot be detected over HTTP (raw PCM has no terminator): fewer samples, no error', async () => {
      fake.faults.push({ kind: 'truncateAfter', chunks: 2, route: subject.route });
      const { chunks, error } = await synthesize(tts);
      expect(error).toBeUndefined();
      expect(concatPcm(chunks).length).toBeLessThan(pcmFromText(TEXT, subject.sampleRate).length);
    });

    it('a stall mid-stream is not cut by the SDK (even with a short timeout): only the caller signal ends it', async () => {
      fake.faults.push({ kind: 'stallAfter', chunks: 2, ms: 10_000, route: subject.route });
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('test deadline')), 500);
      const { chunks, error } = await synthesize(subject.create(fake, { timeoutMs: 200 }), { text: TEXT }, controller.signal);
      clearTimeout(timer);
      expect(chunks.length).toBeGreaterThan(0);
      expect(controller.signal.aborted).toBe(true);
      expect(error).not.toBeInstanceOf(ProviderError);
      await waitFor('the fake to see the client leave', () => speeches()[0]?.clientAborted, 5_000);
    });

    it('cancellation before the headers stops the request and closes the connection', async () => {
      fake.faults.push({ kind: 'delayHeaders', ms: 10_000, route: subject.route });
      const controller = new AbortController();
      const pending = synthesize(tts, { text: TEXT }, controller.signal);
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
      const { chunks, error } = await synthesize(tts, { text: TEXT }, controller.signal, () => controller.abort());
      expect(chunks).toHaveLength(1);
      expect(error).toBeDefined();
      expect(error).not.toBeInstanceOf(ProviderError);
      await waitFor('the fake to see the client leave', () => speeches()[0]?.clientAborted, 5_000);
    });

    it('a consumer that stops early (no abort) releases the connection too', async () => {
      fake.setProfile({ audioRealtimeFactor: 1 });
      for await (const chunk of tts.synthesize({ text: TEXT }, AbortSignal.timeout(5_000))) {
        expect(chunk.length).toBeGreaterThan(0);
        break;
      }
      await waitFor('the fake to see the client leave', () => speeches()[0]?.clientAborted, 5_000);
    });
  });

  return { fake: () => fake, speeches };
}
