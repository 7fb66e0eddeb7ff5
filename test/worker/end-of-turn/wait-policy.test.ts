// Model probability and the words' verdict → the silence that ends the turn: short when complete, long when not, the
// middle one when they disagree or say nothing; the words veto a "complete" only when the sentence hangs.
import { describe, expect, it } from 'vitest';
import { DEFAULT_WAIT_POLICY, MAX_WAIT_MS, WaitPolicy } from '../../../worker/end-of-turn/wait-policy.ts';

const policy = new WaitPolicy({ completeWaitMs: 150, unsureWaitMs: 500, incompleteWaitMs: 1800, completeThreshold: 0.6 });

describe('WaitPolicy', () => {
  it.each([
    // probability, verdict → tier, source
    [0.9, 'complete', 'complete', 'model'],
    [0.9, 'unknown', 'complete', 'model'],
    [0.6, 'unknown', 'complete', 'model'], // the threshold itself counts as complete
    [0.9, 'incomplete', 'incomplete', 'rule'], // "…and" is never complete, however final it sounded
    [0.59, 'complete', 'unsure', 'model'], // a full stop does not overrule a model that hears more coming
    [0.1, 'unknown', 'incomplete', 'model'],
    [0.3, 'unknown', 'unsure', 'model'], // not sure enough of "more to come" for the long wait on its own
    [0.2, 'unknown', 'unsure', 'model'], // the lower threshold itself is unsure
    [0.1, 'incomplete', 'incomplete', 'rule'],
    [undefined, 'complete', 'complete', 'rule'],
    [undefined, 'incomplete', 'incomplete', 'rule'],
    [undefined, 'unknown', 'unsure', 'none'],
  ] as const)('p=%s and words %s → %s (decided by %s)', (probability, verdict, tier, source) => {
    const waits = { complete: 150, unsure: 500, incomplete: 1800 };
    expect(policy.decide(probability, verdict)).toEqual({ tier, source, waitMs: waits[tier] });
  });

  it.each([
    // probability, verdict, asked → tier, source
    [0.3, 'complete', true, 'complete', 'rule'], // "What time is it?" from an unsure model: the question was asked
    [0.2, 'complete', true, 'complete', 'rule'], // the lower threshold itself
    [0.3, 'complete', false, 'unsure', 'model'], // a full stop is not enough
    [0.1, 'complete', true, 'complete', 'rule'], // even a model sure that more is coming: the words asked a question
    [0.1, 'complete', false, 'unsure', 'model'], // which a full stop does not
    [0.9, 'incomplete', true, 'incomplete', 'rule'], // "Where are you going to go with the?": the words hang
    [0.1, 'unknown', true, 'incomplete', 'model'],
  ] as const)('a question mark: p=%s, words %s, asked %s → %s (decided by %s)', (probability, verdict, asked, tier, source) => {
    const waits = { complete: 150, unsure: 500, incomplete: 1800 };
    expect(policy.decide(probability, verdict, asked)).toEqual({ tier, source, waitMs: waits[tier] });
  });

  it('has defaults that wait longer the less complete the sentence is', () => {
    const defaults = new WaitPolicy();
    expect(defaults.options).toEqual(DEFAULT_WAIT_POLICY);
    const waits = [defaults.decide(0.99, 'complete'), defaults.decide(0.3, 'complete'), defaults.decide(0.1, 'unknown')].map((d) => d.waitMs);
    expect(waits[0]).toBeLessThan(waits[1]!);
    expect(waits[1]).toBeLessThan(waits[2]!);
  });

  it('keeps the defaults for options left undefined', () => {
    expect(new WaitPolicy({ completeWaitMs: undefined, incompleteWaitMs: 2000 }).options).toEqual({ ...DEFAULT_WAIT_POLICY, incompleteWaitMs: 2000 });
  });

  it.each([
    [{ completeWaitMs: -1 }, /completeWaitMs must be between 0 and/],
    [{ incompleteWaitMs: MAX_WAIT_MS + 1 }, /incompleteWaitMs must be between 0 and 5000/],
    [{ unsureWaitMs: Number.NaN }, /unsureWaitMs/],
    [{ completeWaitMs: 700, unsureWaitMs: 600 }, /ordered completeWaitMs ≤ unsureWaitMs ≤ incompleteWaitMs/],
    [{ completeThreshold: 1 }, /completeThreshold must be between 0 and 1/],
  ])('refuses %j', (options, message) => {
    expect(() => new WaitPolicy(options)).toThrow(message);
  });
});
