// The worker's circuit breaker: opens on repeated failures or retry-after, probes once after the cool-down.
import { describe, expect, it } from 'vitest';
import { BreakerRegistry } from '../../worker/fallback/breaker.ts';

describe('BreakerRegistry', () => {
  it('opens after N consecutive transient failures, then lets one probe through after the cool-down', () => {
    let now = 1_000;
    const b = new BreakerRegistry({ openAfterConsecutiveFailures: 3, coolDownMs: 10_000 }, () => now);
    b.failure('x', 'transient');
    b.failure('x', 'timeout');
    expect(b.tryAcquire('x')).toBe(true);
    b.failure('x', 'transient');
    expect(b.state('x')).toBe('open');
    expect(b.tryAcquire('x')).toBe(false);
    now += 10_000;
    expect(b.state('x')).toBe('half-open');
    expect(b.tryAcquire('x')).toBe(true);
    expect(b.tryAcquire('x')).toBe(false);
    b.failure('x', 'transient');
    expect(b.state('x')).toBe('open');
    now += 10_000;
    expect(b.tryAcquire('x')).toBe(true);
    b.success('x');
    expect(b.state('x')).toBe('closed');
  });

  it('honours retry-after from a 429 even on the first failure', () => {
    let now = 0;
    const b = new BreakerRegistry({ openAfterConsecutiveFailures: 3, coolDownMs: 10_000 }, () => now);
    b.failure('x', 'transient', 2_500);
    expect(b.state('x')).toBe('open');
    expect(b.msUntilRetry('x')).toBe(2_500);
    now = 2_500;
    expect(b.tryAcquire('x')).toBe(true);
  });

  it('disables a provider for good on a permanent error', () => {
    let now = 0;
    const b = new BreakerRegistry(undefined, () => now);
    b.failure('x', 'permanent');
    now += 3_600_000;
    expect(b.state('x')).toBe('disabled');
    expect(b.tryAcquire('x')).toBe(false);
  });

  it('a success resets the count of consecutive failures', () => {
    const b = new BreakerRegistry({ openAfterConsecutiveFailures: 2, coolDownMs: 1_000 });
    b.failure('x', 'transient');
    b.success('x');
    b.failure('x', 'transient');
    expect(b.state('x')).toBe('closed');
  });
});
