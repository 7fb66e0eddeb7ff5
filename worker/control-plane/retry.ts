// Bounded retries with exponential backoff and full jitter, for calls that fail with a ControlPlaneError. Only errors
// that say retrying can help are retried; the wait honours retry-after, capped so a server cannot park us for long.
import { setTimeout as sleep } from 'node:timers/promises';
import { isControlPlaneError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 250, maxBackoffMs: 5_000 };

/** The wait before attempt `attempt + 1` (attempt counts from 1). */
export function backoffMs(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
  const jittered = Math.round(random() * ceiling);
  return Math.min(policy.maxBackoffMs, Math.max(jittered, retryAfterMs ?? 0));
}

export interface RetryRun {
  signal: AbortSignal;
  /** Whether a backoff wait keeps the process alive: yes while flushing at shutdown, no for background delivery. */
  keepAlive: boolean;
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
}

/**
 * Runs `attempt` until it succeeds, fails for good, the attempts run out or the signal ends it; then throws the last
 * error. A backoff wait ends as soon as the signal does.
 */
export async function withRetry<T>(attempt: (signal: AbortSignal) => Promise<T>, policy: RetryPolicy, run: RetryRun): Promise<T> {
  const { signal, keepAlive, onRetry } = run;
  for (let n = 1; ; n++) {
    try {
      return await attempt(signal);
    } catch (err) {
      if (n >= policy.maxAttempts || signal.aborted || !isControlPlaneError(err) || !err.retryable) throw err;
      const waitMs = backoffMs(policy, n, err.retryAfterMs);
      onRetry?.(err, n, waitMs);
      try {
        await sleep(waitMs, undefined, { signal, ref: keepAlive });
      } catch {
        throw err;
      }
    }
  }
}
