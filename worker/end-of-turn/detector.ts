// End of turn that understands the sentence: how long the caller's silence must last before their turn is over,
// judged by Smart Turn v3.2 (a local CPU model of the last 8 s of speech, on its own thread) and by the words of the
// transcript (transcript-rule.ts), combined by a WaitPolicy (wait-policy.ts). Complete sentence → short wait; a
// sentence left hanging ("I'd like to book a table for") → long wait; the signs disagree or say nothing → a middle one.
//
// API (the turn detector in worker/agent calls this; nothing here knows about the agent):
//   const eot = await createEndOfTurnDetector({ log });        // once per session; loads the model on its thread
//   const d = await eot.waitMsFor(pcm16kOfTheTurn, transcriptSoFar);
//   // d = { waitMs, complete, tier, source: 'model' | 'rule' | 'none', probability?, inferenceMs?, modelSkipped? }
//   await eot.dispose();
// - Call it when the VAD first hears silence after speech (Vad's SpeechGate silence start, or speech_end with a
//   short minSilenceMs), with the turn's 16 kHz audio up to that moment — from its speech_start pcm (the pre-roll
//   included) through every speech_audio, across earlier pauses of the same turn; only the last 8 s are used, as
//   pipecat does — and the latest transcript of the whole turn (interim or final). `waitMs` counts from where the
//   silence BEGAN: the turn ends when the silence has lasted waitMs; speech before then continues the turn (ask again
//   at the next silence).
// - The transcript lags the audio (an interim may still miss the last word when the silence begins). When a newer
//   one arrives during the wait, `eot.reconsider(d, newTranscript)` re-judges the words with the model's answer kept
//   (synchronous, no inference); the turn then ends at the new waitMs, or at once if that much silence has passed.
// - It never blocks the audio: features and inference run on a worker thread, and an answer later than
//   `modelTimeoutMs` is not waited for (the decision is then the rule's, `modelSkipped: 'timeout'`).
// - Without the model file (`model: 'optional'`, the default) the detector works on the rule alone: `eot.model.state`
//   is 'absent' with a TurnModelMissingError naming the file and the set-up command, one warn line is logged, and
//   every decision says `modelSkipped: 'absent'`. `model: 'required'` makes creation reject with that error instead.
import type { Logger } from 'pino';
import { hostInt8Kernel, type Int8Kernel } from './int8-kernel.ts';
import { TurnModelClient } from './model-client.ts';
import { DEFAULT_TURN_MODEL_PATH } from './smart-turn-model.ts';
import { endsWithQuestionMark, judgeTranscript, type TranscriptJudgement } from './transcript-rule.ts';
import { WaitPolicy, type WaitPolicyOptions, type WaitTier } from './wait-policy.ts';

export { TurnModelInferenceError, TurnModelLoadError, TurnModelMissingError } from './errors.ts';
export { DEFAULT_TURN_MODEL_PATH } from './smart-turn-model.ts';
export { DEFAULT_WAIT_POLICY, type WaitPolicyOptions } from './wait-policy.ts';

export interface EndOfTurnOptions {
  /** The Smart Turn ONNX file; default where scripts/fetch-turn-model.sh puts it. */
  modelPath?: string;
  /** 'optional': use the model if it loads, else the rule alone (default). 'required': reject without it. 'off': rule only. */
  model?: 'optional' | 'required' | 'off';
  policy?: Partial<WaitPolicyOptions>;
  /** Longest a decision waits for the model before going by the words alone. */
  modelTimeoutMs?: number;
  log?: Pick<Logger, 'warn'>;
}

/** `int8Kernel`: which of onnxruntime's int8 kernels the model runs on here; their probabilities differ (int8-kernel.ts). */
export type ModelStatus = { state: 'loaded'; int8Kernel: Int8Kernel } | { state: 'off' } | { state: 'absent' | 'failed'; error: Error };

export interface EndOfTurnDecision {
  /** Silence, counted from where it began, after which the caller's turn is over. */
  waitMs: number;
  /** The sentence was judged complete (waitMs is then the short wait). */
  complete: boolean;
  tier: WaitTier;
  source: 'model' | 'rule' | 'none';
  /** The model's probability that the turn is complete, when it answered in time. */
  probability?: number;
  /** Features + inference on the model thread. */
  inferenceMs?: number;
  /** What the words said and why (never the words themselves). */
  rule: TranscriptJudgement;
  modelSkipped?: 'absent' | 'failed' | 'off' | 'timeout' | 'error' | 'no-audio' | 'pending';
}

export interface EndOfTurnDetector {
  readonly model: ModelStatus;
  readonly policy: WaitPolicy;
  waitMsFor(pcm16k: Int16Array, transcript: string): Promise<EndOfTurnDecision>;
  /** The same decision for a newer transcript of the same silence: the model's answer is kept, the words re-judged. */
  reconsider(decision: EndOfTurnDecision, transcript: string): EndOfTurnDecision;
  /** What the words alone decide, at once (no inference): the decision to go by while the model is thinking. */
  byWords(transcript: string): EndOfTurnDecision;
  /** Stops the model thread; safe to call twice. */
  dispose(): Promise<void>;
}

export const DEFAULT_MODEL_TIMEOUT_MS = 300;

export async function createEndOfTurnDetector(options: EndOfTurnOptions = {}): Promise<EndOfTurnDetector> {
  const policy = new WaitPolicy(options.policy);
  const timeoutMs = options.modelTimeoutMs ?? DEFAULT_MODEL_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`modelTimeoutMs must be a positive number, got ${timeoutMs}`);
  const mode = options.model ?? 'optional';
  let client: TurnModelClient | undefined;
  let status: ModelStatus = { state: 'off' };
  if (mode !== 'off') {
    try {
      // Read once: the status reports the kernel the model was loaded for.
      const int8Kernel = hostInt8Kernel();
      client = await TurnModelClient.start(options.modelPath ?? DEFAULT_TURN_MODEL_PATH, int8Kernel);
      status = { state: 'loaded', int8Kernel };
    } catch (error) {
      if (mode === 'required') throw error;
      const err = error as Error;
      status = { state: err.name === 'TurnModelMissingError' ? 'absent' : 'failed', error: err };
      options.log?.warn({ event: 'end_of_turn_model_unavailable', error: err.message }, 'end of turn on the transcript rule alone');
    }
  }
  return new Detector(policy, client, status, timeoutMs, options.log);
}

class Detector implements EndOfTurnDetector {
  readonly policy: WaitPolicy;
  #client: TurnModelClient | undefined;
  #status: ModelStatus;
  #timeoutMs: number;
  #log: Pick<Logger, 'warn'> | undefined;
  #warnedAboutErrors = false;

  constructor(policy: WaitPolicy, client: TurnModelClient | undefined, status: ModelStatus, timeoutMs: number, log?: Pick<Logger, 'warn'>) {
    this.policy = policy;
    this.#client = client;
    this.#status = status;
    this.#timeoutMs = timeoutMs;
    this.#log = log;
  }

  get model(): ModelStatus {
    return this.#status;
  }

  async waitMsFor(pcm16k: Int16Array, transcript: string): Promise<EndOfTurnDecision> {
    return this.#combine(await this.#ask(pcm16k), transcript);
  }

  reconsider(decision: EndOfTurnDecision, transcript: string): EndOfTurnDecision {
    const { probability, inferenceMs, modelSkipped } = decision;
    return this.#combine({ probability, inferenceMs, modelSkipped }, transcript);
  }

  byWords(transcript: string): EndOfTurnDecision {
    return this.#combine({ modelSkipped: 'pending' }, transcript);
  }

  #combine(heard: Pick<EndOfTurnDecision, 'probability' | 'inferenceMs' | 'modelSkipped'>, transcript: string): EndOfTurnDecision {
    const rule = judgeTranscript(transcript);
    const decision = this.policy.decide(heard.probability, rule.verdict, endsWithQuestionMark(transcript));
    const known = Object.fromEntries(Object.entries(heard).filter(([, v]) => v !== undefined));
    return { ...decision, complete: decision.tier === 'complete', rule, ...known };
  }

  async dispose(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }

  async #ask(pcm16k: Int16Array): Promise<Pick<EndOfTurnDecision, 'probability' | 'inferenceMs' | 'modelSkipped'>> {
    if (!this.#client) {
      const state = this.#status.state;
      return { modelSkipped: state === 'loaded' ? 'off' : state };
    }
    if (pcm16k.length === 0) return { modelSkipped: 'no-audio' };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.#timeoutMs)));
    try {
      const answer = await Promise.race([this.#client.predict(pcm16k), late]);
      if (answer === 'timeout') return { modelSkipped: 'timeout' };
      return { probability: answer.probability, inferenceMs: answer.inferenceMs };
    } catch (error) {
      if (!this.#warnedAboutErrors) {
        this.#warnedAboutErrors = true;
        this.#log?.warn({ event: 'end_of_turn_model_error', error: (error as Error).message }, 'end-of-turn model failed; this turn goes by the transcript rule');
      }
      return { modelSkipped: 'error' };
    } finally {
      clearTimeout(timer);
    }
  }
}
