// How long one silence of the caller's must last before their turn is over, when an end-of-turn detector judges it
// (worker/end-of-turn/: Smart Turn on its own thread, plus a rule on the words). Asked once, when the VAD first hears
// the silence, with the utterance's audio and its words so far; re-judged (no inference) on every newer transcript.
//
// The model thinks WHILE the silence runs, never before it: until it answers, the words alone set the wait, but no
// sooner than the unsure wait (a model that has not spoken may still call the sentence unfinished). It answers in
// ~80 ms, well inside a complete sentence's wait, so it adds nothing to it; a model that is slow or gone costs at
// most the unsure wait (and the detector gives up on it after its own timeout). Whether the STT's words have caught
// up is the turn detector's to know (turn-detector.ts waits for a streaming STT's endpoint on a complete verdict).
import type { EndOfTurnDecision, EndOfTurnDetector } from '../end-of-turn/detector.ts';

export class SilenceVerdict {
  readonly #detector: EndOfTurnDetector;
  readonly #onChange: () => void;
  #transcript: string;
  #words: EndOfTurnDecision;
  /** With the model's answer (or the reason it gave none). */
  #heard: EndOfTurnDecision | undefined;
  #dropped = false;

  /** `onChange` runs when the wait may have changed (the model answered, newer words): check the turn again. */
  constructor(detector: EndOfTurnDetector, pcm16k: Int16Array, transcript: string, onChange: () => void) {
    this.#detector = detector;
    this.#onChange = onChange;
    this.#transcript = transcript;
    this.#words = detector.byWords(transcript);
    detector.waitMsFor(pcm16k, transcript).then(
      (decision) => {
        if (this.#dropped) return;
        this.#heard = detector.reconsider(decision, this.#transcript);
        onChange();
      },
      // The detector answers model failures with the rule; a rejection here is a fault of its own: go by the words.
      () => {
        if (this.#dropped) return;
        this.#heard = { ...this.#words, modelSkipped: 'error' };
        onChange();
      },
    );
  }

  /** The decision as far as it is known now (the words alone while the model is thinking). */
  get decision(): EndOfTurnDecision {
    return this.#heard ?? this.#words;
  }

  /** The model has answered (or was skipped): the decision is the detector's whole one. */
  get settled(): boolean {
    return this.#heard !== undefined;
  }

  /** Silence, counted from where it began, after which the turn is over, as far as is known now. */
  get waitMs(): number {
    if (this.#heard) return this.#heard.waitMs;
    return Math.max(this.#words.waitMs, this.#detector.policy.options.unsureWaitMs);
  }

  /**
   * The STT's endpointing may end the turn before `waitMs`: not when the sentence is judged unfinished, and not
   * before the model has had its say (it settles within the unsure wait, and `waitMs` bounds the turn anyway).
   */
  get endpointMayEnd(): boolean {
    return this.#heard !== undefined && this.#heard.tier !== 'incomplete';
  }

  /** A newer transcript of the same silence: the words are judged again, the model's answer kept. */
  words(transcript: string): void {
    if (this.#dropped || transcript === this.#transcript) return;
    this.#transcript = transcript;
    this.#words = this.#detector.byWords(transcript);
    if (this.#heard) this.#heard = this.#heard.modelSkipped === 'error' ? { ...this.#words, modelSkipped: 'error' } : this.#detector.reconsider(this.#heard, transcript);
    this.#onChange();
  }

  /** The silence is over (speech again, or the turn ended): a late answer changes nothing. */
  drop(): void {
    this.#dropped = true;
  }
}
