// The knobs that turn raw outcomes into health, circuits and demotions. One object so tests and config pass it whole.
import type { CircuitState } from './types.ts';

export interface HealthPolicy {
  /** Weight of the newest sample in the latency and error-rate EWMAs, 0 < alpha <= 1. */
  ewmaAlpha: number;
  /** A closed circuit opens after this many failures in a row. */
  openAfterConsecutiveFailures: number;
  /** A closed circuit opens when the error-rate EWMA exceeds this (0..1)... */
  openAboveErrorRate: number;
  /** ...but only after this many samples, so one early failure cannot open it. */
  minSamplesForErrorRate: number;
  /** How long an open circuit rests before one attempt may probe it (half-open). */
  coolDownMs: number;
  /** A provider whose latency EWMA is more than this many times its peers' median is demoted as slow. */
  slowFactor: number;
  /** Upper bounds of the latency histogram's buckets, ascending; +Inf is implied. */
  latencyBucketsMs: number[];
  /** Health keys expire this long after their last update, so retired providers fade away. */
  keyTtlMs: number;
}

export const DEFAULT_HEALTH_POLICY: Readonly<HealthPolicy> = Object.freeze({
  ewmaAlpha: 0.2,
  openAfterConsecutiveFailures: 5,
  openAboveErrorRate: 0.5,
  minSamplesForErrorRate: 10,
  coolDownMs: 30_000,
  slowFactor: 3,
  latencyBucketsMs: Object.freeze([100, 250, 500, 1000, 2000, 5000, 10_000]) as number[],
  keyTtlMs: 30 * 24 * 60 * 60 * 1000,
});

/** The circuit as seen at `nowMs`: an open circuit whose cool-down has passed lets one probe through. */
export function circuitAt(
  stored: CircuitState,
  openedAtMs: number | null,
  nowMs: number,
  policy: Pick<HealthPolicy, 'coolDownMs'>,
): CircuitState {
  if (stored !== 'open' || openedAtMs === null) return stored;
  return nowMs - openedAtMs >= policy.coolDownMs ? 'half-open' : 'open';
}

/** The error rate counts only once there are enough samples to mean something. */
export function hasHighErrorRate(
  health: { successes: number; failures: number; errorRate: number },
  policy: Pick<HealthPolicy, 'openAboveErrorRate' | 'minSamplesForErrorRate'>,
): boolean {
  return (
    health.successes + health.failures >= policy.minSamplesForErrorRate &&
    health.errorRate > policy.openAboveErrorRate
  );
}
