// How long a silence ends the caller's turn, from what the model heard and what the words say. Three waits, bounded
// and ordered: short when the sentence is complete, long when it is not, a middle one when the signs disagree or
// there are none. The words overrule the model: a sentence that ends on "and" or "the" is never called complete (the
// model hears prosody, and a flat "and" can sound final), and a question is (below); a transcript's full stop does
// not overrule a model that hears more to come (STTs put full stops after fragments). The model alone earns the long wait
// only when it is sure (below `incompleteThreshold`): between its two thresholds it often misjudges finished synthetic
// and flat speech (test/bench/end-of-turn.ts: espeak's complete questions score a median 0.92 but many fall near 0.5),
// and a long wait there costs a finished caller more than a middle one costs a thinking caller. A question mark is
// a stronger sign than a full stop (an STT's punctuation puts one only where the words make a question), and it
// settles the model: a question asked on words that end well is complete. On the bench's espeak questions the model
// was sure that more was coming for 2 of 14 complete ones, and settling those cost no cut-off: every question-shaped
// fragment it was sure of ends on words the rule already holds unfinished ("could you send it to?").
import type { TranscriptVerdict } from './transcript-rule.ts';

export interface WaitPolicyOptions {
  /** Silence that ends a turn whose sentence is complete. */
  completeWaitMs: number;
  /** Silence that ends a turn when the signs disagree, or there are none (no model, no telling transcript). */
  unsureWaitMs: number;
  /** Silence that ends a turn whose sentence is not finished: the caller is thinking, and gets this long. */
  incompleteWaitMs: number;
  /** A model probability at or above this calls the turn complete (pipecat's own cut is 0.5). */
  completeThreshold: number;
  /** Below this the model alone calls the turn unfinished; between the two thresholds it is unsure. */
  incompleteThreshold: number;
}

export const DEFAULT_WAIT_POLICY: Readonly<WaitPolicyOptions> = {
  completeWaitMs: 200,
  unsureWaitMs: 600,
  incompleteWaitMs: 1500,
  completeThreshold: 0.5,
  incompleteThreshold: 0.2,
};

/** Longest wait accepted: beyond it a caller who has finished hears nothing for too long. */
export const MAX_WAIT_MS = 5000;

export type WaitTier = 'complete' | 'unsure' | 'incomplete';

export interface WaitDecision {
  waitMs: number;
  tier: WaitTier;
  /** What settled it: the model, the transcript rule, or nothing (no model and no telling words). */
  source: 'model' | 'rule' | 'none';
}

export class WaitPolicy {
  readonly options: Readonly<WaitPolicyOptions>;

  constructor(options: Partial<WaitPolicyOptions> = {}) {
    const resolved = { ...DEFAULT_WAIT_POLICY, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    validate(resolved);
    this.options = Object.freeze(resolved);
  }

  /**
   * `probability` is the model's (undefined when it did not answer); `verdict` the transcript rule's; `asked`: the
   * words end with a question mark (and the rule found nothing hanging).
   */
  decide(probability: number | undefined, verdict: TranscriptVerdict, asked = false): WaitDecision {
    if (verdict === 'incomplete') return this.#tier('incomplete', 'rule');
    if (probability === undefined) {
      return verdict === 'complete' ? this.#tier('complete', 'rule') : this.#tier('unsure', 'none');
    }
    if (probability >= this.options.completeThreshold) return this.#tier('complete', 'model');
    if (asked && verdict === 'complete') return this.#tier('complete', 'rule');
    return this.#tier(verdict === 'complete' || probability >= this.options.incompleteThreshold ? 'unsure' : 'incomplete', 'model');
  }

  #tier(tier: WaitTier, source: WaitDecision['source']): WaitDecision {
    const waitMs = { complete: this.options.completeWaitMs, unsure: this.options.unsureWaitMs, incomplete: this.options.incompleteWaitMs }[tier];
    return { waitMs, tier, source };
  }
}

function validate(o: WaitPolicyOptions): void {
  for (const key of ['completeWaitMs', 'unsureWaitMs', 'incompleteWaitMs'] as const) {
    const value = o[key];
    if (!(Number.isFinite(value) && value >= 0 && value <= MAX_WAIT_MS)) {
      throw new RangeError(`${key} must be between 0 and ${MAX_WAIT_MS} ms, got ${value}`);
    }
  }
  if (!(o.completeWaitMs <= o.unsureWaitMs && o.unsureWaitMs <= o.incompleteWaitMs)) {
    throw new RangeError(
      `waits must be ordered completeWaitMs ≤ unsureWaitMs ≤ incompleteWaitMs, got ${o.completeWaitMs}, ${o.unsureWaitMs}, ${o.incompleteWaitMs}`,
    );
  }
  if (!(o.completeThreshold > 0 && o.completeThreshold < 1)) {
    throw new RangeError(`completeThreshold must be between 0 and 1, got ${o.completeThreshold}`);
  }
  if (!(o.incompleteThreshold >= 0 && o.incompleteThreshold <= o.completeThreshold)) {
    throw new RangeError(`incompleteThreshold must be between 0 and completeThreshold (${o.completeThreshold}), got ${o.incompleteThreshold}`);
  }
}
