// The deadlines the SDKs don't have: every SDK's timeout stops at the response headers, so a body that never starts,
// or stops halfway, would hang forever. This wraps an attempt's stream with a first-chunk deadline and a stall
// watchdog between chunks; either one aborts the attempt and throws a 'timeout' ProviderError.
import { ProviderError } from './errors.ts';

export interface WatchPolicy {
  /** From the start of watching to the first chunk. */
  firstChunkTimeoutMs: number;
  /** Longest silence between two chunks. */
  stallTimeoutMs: number;
  /**
   * Watching starts when this settles (default: at once). STT uses the end of the caller's audio: before it, a
   * provider that only answers at the end (Whisper) is not late, it is waiting.
   */
  startAfter?: Promise<unknown>;
}

function timer(ms: number): { promise: Promise<'timeout'>; cancel(): void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<'timeout'>((resolve) => {
    id = setTimeout(() => resolve('timeout'), ms);
  });
  return { promise, cancel: () => clearTimeout(id) };
}

/**
 * Yields `source`'s chunks, or throws ProviderError('timeout') after calling `abort` when a deadline passes. The
 * source is always closed (return()) when the consumer stops early.
 */
export async function* watch<T>(
  provider: string,
  source: AsyncIterable<T>,
  policy: WatchPolicy,
  abort: (reason: Error) => void,
): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let started = policy.startAfter === undefined;
  // Made once: every race adds a reaction to each promise it is given, which stays until that promise settles.
  const start = () => {
    started = true;
    return 'started' as const;
  };
  const gate = policy.startAfter?.then(start, start);
  let first = true;
  try {
    for (;;) {
      const next = it.next();
      // A rejection after we gave up on it (timeout) must not surface as an unhandled rejection.
      next.catch(() => undefined);
      let result: IteratorResult<T>;
      for (;;) {
        const limitMs = first ? policy.firstChunkTimeoutMs : policy.stallTimeoutMs;
        // Never a promise that outlives the chunk (a shared never-settling one kept a reaction per chunk for good).
        const clock = started ? timer(limitMs) : undefined;
        const winner = await Promise.race([next, clock ? clock.promise : gate!]);
        clock?.cancel();
        if (winner === 'started') continue;
        if (winner === 'timeout') {
          const what = first ? `no first chunk within ${limitMs} ms` : `stalled for ${limitMs} ms between chunks`;
          const err = new ProviderError(provider, 'timeout', what);
          abort(err);
          throw err;
        }
        result = winner;
        break;
      }
      if (result.done) return;
      first = false;
      yield result.value;
    }
  } finally {
    // Closing a generator that is parked in next() would wait for it; the abort above has already unblocked it.
    void Promise.resolve(it.return?.()).catch(() => undefined);
  }
}
