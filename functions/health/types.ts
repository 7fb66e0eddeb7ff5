// What the control plane knows about one provider's recent behaviour, as read from Redis.
import type { ErrorClass, Modality, ProviderId } from '../contract.ts';

/** `half-open` is never stored: it is an `open` circuit whose cool-down has passed, derived at read time. */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface LatencyBucket {
  /** Upper bound, inclusive; the last bucket is `Infinity` (Prometheus' +Inf; JSON renders it as null). */
  leMs: number;
  /** Cumulative: attempts whose time to first byte was at most `leMs`. */
  count: number;
}

export interface LatencyHistogram {
  buckets: LatencyBucket[];
  count: number;
  sumMs: number;
}

export interface ProviderHealth {
  id: ProviderId;
  modality: Modality;
  provider: string;
  successes: number;
  failures: number;
  /** EWMA of time to first byte over successful attempts; null until one arrives. */
  latencyEwmaMs: number | null;
  /** EWMA of each sample's distance from latencyEwmaMs (the spread); null until a second sample arrives. */
  latencyDeviationMs: number | null;
  /** EWMA of failure (1) versus success (0), 0..1. */
  errorRate: number;
  lastErrorClass: ErrorClass | null;
  lastErrorAtMs: number | null;
  consecutiveFailures: number;
  circuit: CircuitState;
  circuitOpenedAtMs: number | null;
  updatedAtMs: number | null;
  latency: LatencyHistogram;
}
