// One metrics batch may move a provider's health only so far: at most `maxFailures` failures per provider count
// (fewer than the consecutive failures that open a circuit) and at most `maxOutcomes` outcomes in all, so no single
// report (a buggy or compromised worker) can open a provider's circuit or drown out everyone else's evidence. An
// honest worker reports every few seconds and rarely reaches either bound. (The health script adds the rest: a
// circuit opens only on failures from two sessions or more.)
import type { ProviderOutcome } from '../contract.ts';

export const MAX_OUTCOMES_PER_PROVIDER_PER_BATCH = 20;

export interface BatchBounds {
  maxOutcomes: number;
  maxFailures: number;
}

export function batchBoundsFor(openAfterConsecutiveFailures: number): BatchBounds {
  return { maxOutcomes: MAX_OUTCOMES_PER_PROVIDER_PER_BATCH, maxFailures: Math.max(1, openAfterConsecutiveFailures - 1) };
}

/** The batch within the bounds per provider (the first outcomes, in order), and how many were left out. */
export function boundBatchWeight(outcomes: readonly ProviderOutcome[], bounds: BatchBounds): { kept: ProviderOutcome[]; dropped: number } {
  const all = new Map<string, number>();
  const failed = new Map<string, number>();
  const kept: ProviderOutcome[] = [];
  for (const o of outcomes) {
    const id = `${o.modality}:${o.provider}`;
    const n = all.get(id) ?? 0;
    const f = failed.get(id) ?? 0;
    if (n >= bounds.maxOutcomes || (!o.ok && f >= bounds.maxFailures)) continue;
    all.set(id, n + 1);
    if (!o.ok) failed.set(id, f + 1);
    kept.push(o);
  }
  return { kept, dropped: outcomes.length - kept.length };
}
