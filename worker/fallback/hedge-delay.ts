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
//
// A primary whose last request timed out (the hedge outran it, or its first-token deadline passed) is suspect: its
// next request gets a rival after `suspectMs` only, so a primary that stalls again costs that, not its usual delay,
// until three timeouts in a row open its breaker. Its silence still counts as a timeout only once its usual delay is
// up (`outrunAfterMs`), so a recovered primary outrun by a quick rival is cancelled, not failed, and the suspicion is
// lifted: it is given its usual head start on the next request.
import type { FirstByteLatency, ProviderOutcome } from '../../functions/contract.ts';
import type { HedgeTiming } from './hedge.ts';

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
  /**
   * A suspect primary's head start: long enough for the request to reach it and the rival's to follow, short next to
   * any hosted LLM's first token, so a recovered primary as fast as its rival still answers first.
   */
  suspectMs: 100,
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
  /** Primaries whose last request timed out. */
  readonly #suspect = new Set<string>();

  constructor(setting: HedgeSetting, measured: Readonly<Record<string, FirstByteLatency>> = {}) {
    this.#setting = setting;
    for (const [provider, m] of Object.entries(measured)) {
      if (m.samples === 0) continue;
      this.#estimates.set(provider, { meanMs: m.ewmaMs, deviationMs: m.deviationMs ?? firstDeviation(m.ewmaMs) });
    }
  }

  /** The delay before a rival joins `primary` on its next request; undefined: no hedging. */
  afterMs(primary: string): number | undefined {
    return this.timing(primary)?.afterMs;
  }

  /** When the rival joins `primary`'s next request, and when the primary's silence counts as a timeout. */
  timing(primary: string): HedgeTiming | undefined {
    if (this.#setting.mode === 'off') return undefined;
    if (this.#setting.mode === 'fixed') return { afterMs: this.#setting.afterMs };
    const estimate = this.#estimates.get(primary);
    const usualMs = estimate ? hedgeDelayFrom(estimate) : HEDGE_DELAY.unmeasuredMs;
    return { afterMs: this.#suspect.has(primary) ? Math.min(HEDGE_DELAY.suspectMs, usualMs) : usualMs, outrunAfterMs: usualMs };
  }

  /** `primary` was outrun by a rival before its usual delay was up: no sign either way, so no longer suspect. */
  overtaken(primary: string): void {
    this.#suspect.delete(primary);
  }

  /**
   * Folds in an LLM attempt's measured first token (attempts that never produced one teach nothing about the usual
   * time); one that timed out before it makes the provider suspect, a first token clears that.
   */
  observe(outcome: ProviderOutcome): void {
    if (outcome.modality !== 'llm') return;
    if (!outcome.ok && outcome.errorClass === 'timeout' && outcome.ttfbMs === undefined) this.#suspect.add(outcome.provider);
    if (outcome.ttfbMs === undefined) return;
    this.#suspect.delete(outcome.provider);
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
