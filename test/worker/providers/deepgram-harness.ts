// What the Deepgram adapter's tests share: speech-like audio for the fake's energy detector, a transcribe() that keeps
// what came before an error, and the fakes and provider of each test (closed after it).
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startFakeDeepgram, type FakeDeepgram, type FakeDeepgramOptions } from '../../fakes/deepgram.ts';
import { sleep } from '../../support/wait.ts';
import { createDeepgramStt, type DeepgramStt } from '../../../worker/providers/stt/deepgram.ts';
import type { DeepgramSttOptions } from '../../../worker/providers/stt/deepgram-options.ts';
import type { SttEvent } from '../../../worker/providers/types.ts';
import { concatPcm } from '../../../worker/audio/frames.ts';

export const SAMPLE_RATE = 16_000;
const FRAME_SAMPLES = SAMPLE_RATE / 50; // 20 ms
export const FAKE_IDLE_TIMEOUT_MS = 400;

/** A 440 Hz burst: "speech" for the fake's energy detector. */
export function tone(ms: number): Int16Array {
  const pcm = new Int16Array(Math.floor((ms * SAMPLE_RATE) / 1000));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE));
  return pcm;
}

export function silence(ms: number): Int16Array {
  return new Int16Array(Math.floor((ms * SAMPLE_RATE) / 1000));
}


/** The utterance's audio in 20 ms frames, as the turn detector hands it over (only faster). */
export async function* frames(pcm: Int16Array): AsyncGenerator<Int16Array> {
  for (let offset = 0; offset < pcm.length; offset += FRAME_SAMPLES) yield pcm.subarray(offset, offset + FRAME_SAMPLES);
}

/** Audio that keeps coming until the signal aborts (a caller still talking). */
export async function* endless(signal: AbortSignal): AsyncGenerator<Int16Array> {
  while (!signal.aborted) {
    yield tone(20);
    await sleep(5);
  }
}

/** Silence sent at the pace it lasts (a caller's pause in wall time, not only on the audio). */
export async function* realTimeSilence(ms: number): AsyncGenerator<Int16Array> {
  for (let at = 0; at < ms; at += 20) {
    yield silence(20);
    await sleep(20);
  }
}

/** Speech, then enough silence for Deepgram's endpointing (300 ms) to mark it speech_final. */
export const endpointedUtterance = () => concatPcm([tone(600), silence(400)]);

export type Outcome = { events: SttEvent[]; error?: unknown };

export async function transcribe(stt: DeepgramStt, audio: AsyncIterable<Int16Array>, signal = AbortSignal.timeout(5_000)): Promise<Outcome> {
  const events: SttEvent[] = [];
  try {
    for await (const event of stt.transcribe({ audio, sampleRate: SAMPLE_RATE }, signal)) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

export const finals = (events: SttEvent[]) => events.filter((e) => e.type === 'final');
export const listens = () => fake.requests.filter((r) => r.route === 'listen');
/** The control messages each listen socket of `of` sent, in order (KeepAlives left out). */
export const controlMessages = (of: FakeDeepgram = fake) =>
  of.requests
    .filter((r) => r.route === 'listen')
    .map((r) => (r.bodyText ?? '').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { type: string }).type).filter((type) => type !== 'KeepAlive'));

/** The shared fake Deepgram (reset after each test): a live binding, set once the hooks ran. */
export let fake: FakeDeepgram;
let stt: DeepgramStt | undefined;
/** Fakes started by one test with options of its own; closed after it. */
const ownFakes: FakeDeepgram[] = [];

export async function dedicatedFake(options: FakeDeepgramOptions): Promise<FakeDeepgram> {
  const own = await startFakeDeepgram({ idleTimeoutMs: FAKE_IDLE_TIMEOUT_MS, ...options });
  ownFakes.push(own);
  return own;
}

export function provider(options: Partial<DeepgramSttOptions> = {}, baseUrl = fake.url): DeepgramStt {
  stt = createDeepgramStt({ apiKey: 'dg-test-key', baseUrl, ...options });
  return stt;
}

/** Registers the hooks of a file's tests: one shared fake for the file, the test's provider and own fakes closed after it. */
export function useFakeDeepgram(): void {
  beforeAll(async () => {
    fake = await startFakeDeepgram({ idleTimeoutMs: FAKE_IDLE_TIMEOUT_MS });
  });
  afterEach(async () => {
    await stt?.close();
    stt = undefined;
    fake.reset();
    await Promise.all(ownFakes.splice(0).map((own) => own.close()));
  });
  afterAll(async () => {
    await fake?.close();
  });
}
