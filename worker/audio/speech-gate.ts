// The decision part of the VAD, apart from the model: per-window speech probabilities in, speech start and end out.
// Hysteresis: a start needs a window at or above the positive threshold and then `minSpeechMs` during which no window
// falls below the negative threshold; once speaking, a window below the negative threshold starts a silence, which
// only a window back at or above the positive threshold cancels, and `minSilenceMs` of it ends the speech.

export interface SpeechGateOptions {
  positiveThreshold: number;
  negativeThreshold: number;
  minSpeechMs: number;
  minSilenceMs: number;
}

export type GateChange =
  | { type: 'start'; atMs: number }
  | { type: 'end'; atMs: number; startedAtMs: number };

export class SpeechGate {
  readonly options: Readonly<SpeechGateOptions>;
  #candidateMs: number | undefined; // start of a run of speech not yet long enough
  #speechMs: number | undefined; // start of the confirmed speech, while speaking
  #silenceMs: number | undefined; // start of the silence, while speaking

  constructor(options: SpeechGateOptions) {
    this.options = options;
  }

  get isSpeaking(): boolean {
    return this.#speechMs !== undefined;
  }

  /** Where the current silence began, while speaking. */
  get silenceStartedAtMs(): number | undefined {
    return this.#silenceMs;
  }

  get speechStartedAtMs(): number | undefined {
    return this.#speechMs;
  }

  /** One window's probability; windows must come in order and without gaps. */
  update(probability: number, windowStartMs: number, windowEndMs: number): GateChange | undefined {
    const { positiveThreshold, negativeThreshold, minSpeechMs, minSilenceMs } = this.options;
    if (this.#speechMs === undefined) {
      if (this.#candidateMs === undefined) {
        if (probability >= positiveThreshold) this.#candidateMs = windowStartMs;
      } else if (probability < negativeThreshold) {
        this.#candidateMs = undefined;
      }
      if (this.#candidateMs === undefined || windowEndMs - this.#candidateMs < minSpeechMs) return undefined;
      this.#speechMs = this.#candidateMs;
      this.#candidateMs = undefined;
      this.#silenceMs = undefined;
      return { type: 'start', atMs: this.#speechMs };
    }

    if (probability >= positiveThreshold) this.#silenceMs = undefined;
    else if (probability < negativeThreshold && this.#silenceMs === undefined) this.#silenceMs = windowStartMs;
    if (this.#silenceMs === undefined || windowEndMs - this.#silenceMs < minSilenceMs) return undefined;
    const change: GateChange = { type: 'end', atMs: this.#silenceMs, startedAtMs: this.#speechMs };
    this.#speechMs = undefined;
    this.#silenceMs = undefined;
    return change;
  }

  reset(): void {
    this.#candidateMs = undefined;
    this.#speechMs = undefined;
    this.#silenceMs = undefined;
  }
}
