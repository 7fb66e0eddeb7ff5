// Voice activity detection with Silero VAD on onnxruntime-node. The model file comes from @ricky0123/vad-web, the
// maintained package that ships Silero's ONNX exports; it resolves from node_modules, so nothing is fetched at run time.
//
// Silero v5/v6 take 512 new samples at 16 kHz (32 ms) preceded by the last 64 samples of the window before, an
// LSTM state [2, 1, 128] and the rate; they answer a speech probability and the next state. The probabilities go
// through the SpeechGate (hysteresis, minimum speech and silence), and the audio of an utterance begins `preRollMs`
// before its start so that the onset of the first word reaches speech-to-text.
import { createRequire } from 'node:module';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { FrameSlicer, msToSamples, samplesToMs } from './frames.ts';
import { SpeechGate } from './speech-gate.ts';

export const VAD_SAMPLE_RATE = 16_000;
const WINDOW_SAMPLES = 512;
/** One window's audio: no Silero decision comes sooner after a sound than this. */
export const VAD_WINDOW_MS = (WINDOW_SAMPLES / VAD_SAMPLE_RATE) * 1000;
const CONTEXT_SAMPLES = 64;
const STATE_SIZE = 2 * 1 * 128;

export type SileroModel = 'v5' | 'v6';

export interface VadOptions {
  /** A window at or above this probability can begin speech. */
  positiveThreshold?: number;
  /** A window below this probability counts as silence; between the two, the current state holds. */
  negativeThreshold?: number;
  /** Speech shorter than this is a blip (a cough, a click) and starts nothing. */
  minSpeechMs?: number;
  /** Silence this long ends speech; shorter pauses stay inside the utterance. */
  minSilenceMs?: number;
  /** Audio kept from before the detected start and delivered with it. */
  preRollMs?: number;
  model?: SileroModel;
}

export type VadEvent =
  /** Speech confirmed. `pcm16k` is the utterance so far: from `preRollMs` before `atMs` up to the confirming window. */
  | { type: 'speech_start'; atMs: number; pcm16k: Int16Array }
  /** The next piece of the utterance, in order, until its `speech_end`. */
  | { type: 'speech_audio'; pcm16k: Int16Array }
  /** `atMs` is where the silence began; the utterance's audio has run `minSilenceMs` past it. */
  | { type: 'speech_end'; atMs: number; speechMs: number };

export class VadModelError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VadModelError';
  }
}

export class VadDisposedError extends Error {
  constructor() {
    super('the VAD was disposed');
    this.name = 'VadDisposedError';
  }
}

const DEFAULTS: Required<VadOptions> = {
  positiveThreshold: 0.5,
  negativeThreshold: 0.35,
  minSpeechMs: 150,
  minSilenceMs: 500,
  preRollMs: 300,
  model: 'v5',
};

export function sileroModelPath(model: SileroModel): string {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve(`@ricky0123/vad-web/dist/silero_vad_${model}.onnx`);
  } catch (error) {
    throw new VadModelError(`Silero ${model} model not found in @ricky0123/vad-web: run npm ci`, { cause: error });
  }
}

/** One per audio stream: it carries the model's recurrent state and the speech/silence timers. */
export class Vad {
  readonly options: Readonly<Required<VadOptions>>;
  #session: InferenceSession;
  #slicer = new FrameSlicer(WINDOW_SAMPLES);
  #input = new Float32Array(CONTEXT_SAMPLES + WINDOW_SAMPLES);
  #state = new Float32Array(STATE_SIZE);
  #rate = new Tensor('int64', BigInt64Array.of(BigInt(VAD_SAMPLE_RATE)), []);
  // Processing is asynchronous; pushes queue here so that windows and events keep their order.
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  #gate: SpeechGate;
  #processedSamples = 0;
  #probability = 0;
  #recent: Int16Array[] = []; // the last windows, for the pre-roll
  #recentLimit: number;

  private constructor(session: InferenceSession, options: Required<VadOptions>) {
    this.#session = session;
    this.options = options;
    this.#gate = new SpeechGate(options);
    // Confirmation comes at most minSpeech (plus one window) after the start; the pre-roll reaches back from there.
    const reachBack = msToSamples(options.preRollMs + options.minSpeechMs, VAD_SAMPLE_RATE) + WINDOW_SAMPLES;
    this.#recentLimit = Math.ceil(reachBack / WINDOW_SAMPLES) + 1;
  }

  static async create(options: VadOptions = {}): Promise<Vad> {
    const resolved = { ...DEFAULTS, ...withoutUndefined(options) };
    validate(resolved);
    const path = sileroModelPath(resolved.model);
    let session: InferenceSession;
    try {
      // One thread: a worker serves one room on a small machine, and a 32 ms window takes well under a millisecond.
      session = await InferenceSession.create(path, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        logSeverityLevel: 3,
      });
    } catch (error) {
      throw new VadModelError(`could not load Silero model ${path}: ${(error as Error).message}`, { cause: error });
    }
    return new Vad(session, resolved);
  }

  /** Speech probability of the last window the model saw (0 before any). */
  get probability(): number {
    return this.#probability;
  }

  get isSpeaking(): boolean {
    return this.#gate.isSpeaking;
  }

  /** Stream time covered by the windows processed so far, since creation or the last reset. */
  get processedMs(): number {
    return samplesToMs(this.#processedSamples, VAD_SAMPLE_RATE);
  }

  /** Takes 16 kHz audio of any length; resolves with the events it caused, in order. */
  push(pcm16k: Int16Array): Promise<VadEvent[]> {
    if (this.#disposed) return Promise.reject(new VadDisposedError());
    // Sliced now, so the caller may reuse its buffer as soon as push returns.
    const windows = this.#slicer.push(pcm16k);
    return this.#enqueue(async () => {
      const events: VadEvent[] = [];
      for (const window of windows) await this.#processWindow(window, events);
      return events;
    });
  }

  /**
   * The end of the stream: a partial window left over is delivered, and an utterance still open is ended where its
   * silence began (or at the end of the audio). Then the VAD starts over as after `reset()`.
   */
  flush(): Promise<VadEvent[]> {
    if (this.#disposed) return Promise.reject(new VadDisposedError());
    const tail = this.#slicer.flush();
    return this.#enqueue(async () => {
      const events: VadEvent[] = [];
      const startedAtMs = this.#gate.speechStartedAtMs;
      if (startedAtMs !== undefined) {
        if (tail.length > 0) events.push({ type: 'speech_audio', pcm16k: tail });
        const endMs = this.#gate.silenceStartedAtMs ?? this.#ms(this.#processedSamples + tail.length);
        events.push({ type: 'speech_end', atMs: endMs, speechMs: endMs - startedAtMs });
      }
      this.#clear();
      return events;
    });
  }

  /** Forgets all audio and state (a new stream, or after the agent's own speech); time starts again at 0. */
  reset(): Promise<void> {
    if (this.#disposed) return Promise.reject(new VadDisposedError());
    this.#slicer.flush();
    return this.#enqueue(async () => this.#clear());
  }

  /** Releases the ONNX session once pending work is done; safe to call twice. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#queue.catch(() => undefined);
    await this.#session.release();
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #processWindow(window: Int16Array, events: VadEvent[]): Promise<void> {
    const probability = await this.#infer(window);
    this.#probability = probability;
    const wasSpeaking = this.#gate.isSpeaking;
    const startMs = this.#ms(this.#processedSamples);
    this.#processedSamples += window.length;
    this.#remember(window);
    const change = this.#gate.update(probability, startMs, this.#ms(this.#processedSamples));

    if (wasSpeaking) events.push({ type: 'speech_audio', pcm16k: window });
    if (change?.type === 'start') {
      const fromSample = Math.max(0, msToSamples(change.atMs - this.options.preRollMs, VAD_SAMPLE_RATE));
      events.push({ type: 'speech_start', atMs: change.atMs, pcm16k: this.#recentFrom(fromSample) });
    } else if (change?.type === 'end') {
      events.push({ type: 'speech_end', atMs: change.atMs, speechMs: change.atMs - change.startedAtMs });
    }
  }

  async #infer(window: Int16Array): Promise<number> {
    // The context (the tail of the previous window) is already at the front of #input.
    for (let i = 0; i < window.length; i++) this.#input[CONTEXT_SAMPLES + i] = window[i]! / 32768;
    const outputs = await this.#session.run({
      input: new Tensor('float32', this.#input, [1, this.#input.length]),
      state: new Tensor('float32', this.#state, [2, 1, 128]),
      sr: this.#rate,
    });
    const probability = outputs.output?.data[0];
    const nextState = outputs.stateN?.data;
    if (typeof probability !== 'number' || !(nextState instanceof Float32Array) || nextState.length !== STATE_SIZE) {
      throw new VadModelError('Silero model answered without a probability and a [2, 1, 128] state');
    }
    this.#state.set(nextState);
    this.#input.copyWithin(0, WINDOW_SAMPLES);
    return probability;
  }

  #remember(window: Int16Array): void {
    this.#recent.push(window);
    if (this.#recent.length > this.#recentLimit) this.#recent.shift();
  }

  /** The remembered audio from absolute sample `fromSample` to what has been processed. */
  #recentFrom(fromSample: number): Int16Array {
    const heldFrom = this.#processedSamples - this.#recent.length * WINDOW_SAMPLES;
    const skip = Math.max(0, fromSample - heldFrom);
    const out = new Int16Array(this.#recent.length * WINDOW_SAMPLES - skip);
    let at = -skip;
    for (const window of this.#recent) {
      if (at >= 0) out.set(window, at);
      else if (at + window.length > 0) out.set(window.subarray(-at), 0);
      at += window.length;
    }
    return out;
  }

  #clear(): void {
    this.#input.fill(0);
    this.#state.fill(0);
    this.#processedSamples = 0;
    this.#probability = 0;
    this.#recent = [];
    this.#gate.reset();
  }

  #ms(samples: number): number {
    return samplesToMs(samples, VAD_SAMPLE_RATE);
  }
}

function validate(options: Required<VadOptions>): void {
  const { positiveThreshold: positive, negativeThreshold: negative } = options;
  if (!(positive > 0 && positive < 1)) throw new RangeError(`positiveThreshold must be between 0 and 1, got ${positive}`);
  if (!(negative > 0 && negative <= positive)) {
    throw new RangeError(`negativeThreshold must be above 0 and at most positiveThreshold (${positive}), got ${negative}`);
  }
  for (const key of ['minSpeechMs', 'minSilenceMs', 'preRollMs'] as const) {
    const value = options[key];
    if (!(value >= 0 && Number.isFinite(value))) throw new RangeError(`${key} must be a non-negative number, got ${value}`);
  }
  if (options.model !== 'v5' && options.model !== 'v6') throw new RangeError(`model must be "v5" or "v6", got ${String(options.model)}`);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
