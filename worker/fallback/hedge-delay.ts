// How long LLM hedging waits for the primary's first token before starting the next provider alongside, per
// primary. The delay follows the provider's own first-token latency: the control plane's measurement (across
// sessions) seeds it, the session's own first tokens keep it current.
//
// The formula is TCP's retransmission timer (RFC 6298) with a smaller multiplier: delay = mean + 2 × deviation, where
// both are EWMAs and the deviation is the mean absolute distance from the mean. For a roughly normal latency, mean
// absolute deviation ≈ 0.8 σ, so mean + 2 × deviation ≈ mean + 1.6 σ ≈ the 95th percentile: the hedge fires on about
// one healthy turn in twenty (the classic "hedge at p95"), and a primary that never answers costs its usual time to
// first token plus that margin. RFC 6298 uses 4 × deviation because a spurious retransmission is costly; a spurious
// hedge costs one aborted request, so we take the tighter margin. A floor on the margin keeps a perfectly steady
// provider from being hedged on every small wobble; the bounds keep the delay sane whatever the measurements say.
import type { FirstByteLatency, ProviderOutcome } from '../../functions/contract.ts';

export type HedgeSetting = { mode: 'off' } | { mode: 'fixed'; afterMs: number } | { mode: 'measured' };

export const HEDGE_DELAY = {
  /** Never hedge sooner: below this a healthy first token is mostly network, and hedging buys nothing. */
  minMs: 100,
  /** Never later: half the first-token deadline (4 s), beyond which waiting for the failover costs little more. */
  maxMs: 2_000,
  /**
   * No measurement of this provider yet (fresh deployment, console, Redis down at launch): hosted LLMs' first token
   * commonly takes 300–600 ms, so a rival joins a little after the slow end of that; the first answer replaces it.
   */
  unmeasuredMs: 600,
  deviations: 2,
  minMarginMs: 20,
  /** Weight of each of the session's own first tokens: a session is a few dozen turns, so it must learn fast. */
  alpha: 0.25,
} as const;

interface Estimate {
  meanMs: number;
  deviationMs: number;
}

/** One sample says nothing about the spread; a quarter of it is a cautious guess that the next few samples replace. */
const firstDeviation = (meanMs: number) => meanMs / 4;

export function hedgeDelayFrom(e: Estimate): number {
  const margin = Math.max(HEDGE_DELAY.minMarginMs, HEDGE_DELAY.deviations * e.deviationMs);
  return Math.round(Math.min(HEDGE_DELAY.maxMs, Math.max(HEDGE_DELAY.minMs, e.meanMs + margin)));
}

/** The hedge delays of one session's LLM chain. */
export class HedgeDelays {
  readonly #setting: HedgeSetting;
  readonly #estimates = new Map<string, Estimate>();

  constructor(setting: HedgeSetting, measured: Readonly<Record<string, FirstByteLatency>> = {}) {
    this.#setting = setting;
    for (const [provider, m] of Object.entries(measured)) {
      if (m.samples === 0) continue;
      this.#estimates.set(provider, { meanMs: m.ewmaMs, deviationMs: m.deviationMs ?? firstDeviation(m.ewmaMs) });
    }
  }

  /** The delay before a rival joins `primary`; undefined: no hedging. */
  afterMs(primary: string): number | undefined {
    if (this.#setting.mode === 'off') return undefined;
    if (this.#setting.mode === 'fixed') return this.#setting.afterMs;
    const estimate = this.#estimates.get(primary);
    return estimate ? hedgeDelayFrom(estimate) : HEDGE_DELAY.unmeasuredMs;
  }

  /** Folds in an LLM attempt's measured first token. Attempts that never produced one teach nothing about the usual time. */
  observe(outcome: ProviderOutcome): void {
    if (outcome.modality !== 'llm' || outcome.ttfbMs === undefined) return;
    const sample = outcome.ttfbMs;
    const e = this.#estimates.get(outcome.provider);
    if (!e) {
      this.#estimates.set(outcome.provider, { meanMs: sample, deviationMs: firstDeviation(sample) });
      return;
    }
    const a = HEDGE_DELAY.alpha;
    // As RFC 6298: the deviation is measured against the mean before this sample.
    e.deviationMs = (1 - a) * e.deviationMs + a * Math.abs(sample - e.meanMs);
    e.meanMs = (1 - a) * e.meanMs + a * sample;
  }
}

/** What the settings and the control plane's measurements say, for the LLM chain of one session. */
export function llmHedgeDelays(
  config: { LLM_HEDGE: 'on' | 'off'; LLM_HEDGE_AFTER_MS?: number | undefined },
  order: { firstByte?: { llm?: Readonly<Record<string, FirstByteLatency>> | undefined } | undefined },
): HedgeDelays {
  const setting: HedgeSetting =
    config.LLM_HEDGE === 'off'
      ? { mode: 'off' }
      : config.LLM_HEDGE_AFTER_MS !== undefined
        ? { mode: 'fixed', afterMs: config.LLM_HEDGE_AFTER_MS }
        : { mode: 'measured' };
  return new HedgeDelays(setting, order.firstByte?.llm ?? {});
}
