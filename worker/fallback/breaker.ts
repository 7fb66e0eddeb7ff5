// A circuit breaker per provider inside one worker, so a dead provider costs nothing on later turns.
// closed → (N consecutive failures, or a retry-after) → open → (cool-down passes) → half-open: one probe decides.
// A permanent error (bad key, bad request) disables the provider for the rest of the session.
import type { ErrorClass } from '../../functions/contract.ts';

export interface BreakerPolicy {
  openAfterConsecutiveFailures: number;
  coolDownMs: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = { openAfterConsecutiveFailures: 3, coolDownMs: 30_000 };

export type BreakerState = 'closed' | 'open' | 'half-open' | 'disabled';

interface Entry {
  consecutiveFailures: number;
  openUntilMs: number;
  disabled: boolean;
  /** A half-open probe is in flight: nobody else goes through until it reports. */
  probing: boolean;
}

export class BreakerRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #policy: BreakerPolicy;
  readonly #now: () => number;

  constructor(policy: BreakerPolicy = DEFAULT_BREAKER_POLICY, now: () => number = Date.now) {
    this.#policy = policy;
    this.#now = now;
  }

  #entry(key: string): Entry {
    let e = this.#entries.get(key);
    if (!e) {
      e = { consecutiveFailures: 0, openUntilMs: 0, disabled: false, probing: false };
      this.#entries.set(key, e);
    }
    return e;
  }

  state(key: string): BreakerState {
    const e = this.#entries.get(key);
    if (!e) return 'closed';
    if (e.disabled) return 'disabled';
    if (e.openUntilMs === 0) return 'closed';
    return this.#now() < e.openUntilMs ? 'open' : 'half-open';
  }

  /** Ms until an open breaker lets a probe through (0 when it would now). */
  msUntilRetry(key: string): number {
    const e = this.#entries.get(key);
    return e && !e.disabled ? Math.max(0, e.openUntilMs - this.#now()) : 0;
  }

  /** Whether an attempt may go to this provider now; a half-open breaker admits one probe at a time. */
  tryAcquire(key: string): boolean {
    const state = this.state(key);
    if (state === 'closed') return true;
    if (state !== 'half-open') return false;
    const e = this.#entry(key);
    if (e.probing) return false;
    e.probing = true;
    return true;
  }

  /** Lets a caller use an open provider as a last resort (every provider of its chain is open). */
  forceAcquire(key: string): void {
    this.#entry(key).probing = true;
  }

  success(key: string): void {
    const e = this.#entry(key);
    e.consecutiveFailures = 0;
    e.openUntilMs = 0;
    e.probing = false;
  }

  failure(key: string, errorClass: ErrorClass, retryAfterMs?: number): void {
    const e = this.#entry(key);
    e.probing = false;
    if (errorClass === 'permanent') {
      e.disabled = true;
      return;
    }
    e.consecutiveFailures++;
    const now = this.#now();
    const wasProbe = e.openUntilMs !== 0;
    if (retryAfterMs !== undefined && retryAfterMs > 0) {
      e.openUntilMs = Math.max(e.openUntilMs, now + retryAfterMs);
    } else if (wasProbe || e.consecutiveFailures >= this.#policy.openAfterConsecutiveFailures) {
      e.openUntilMs = now + this.#policy.coolDownMs;
    }
  }

  /** Gives an attempt that was abandoned (cancelled, lost a hedge) back without counting it either way. */
  release(key: string): void {
    const e = this.#entries.get(key);
    if (e) e.probing = false;
  }
}
