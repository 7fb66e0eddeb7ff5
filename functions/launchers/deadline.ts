// One deadline per outbound call: the caller's signal (if any) combined with our own timeout, and a way to tell
// afterwards which of the two fired so the error can say "timed out" or "aborted".

export interface Deadline {
  readonly signal: AbortSignal;
  /** Why the call was cut short, or undefined when neither the caller nor the timeout has fired. */
  abortedBecause(): 'timeout' | 'caller' | undefined;
}

export function deadline(timeoutMs: number, callerSignal?: AbortSignal): Deadline {
  const timeoutSignal = AbortSignal.timeout(timeoutMs);
  const signal = callerSignal ? AbortSignal.any([callerSignal, timeoutSignal]) : timeoutSignal;
  return {
    signal,
    abortedBecause() {
      if (callerSignal?.aborted) return 'caller';
      if (timeoutSignal.aborted) return 'timeout';
      return undefined;
    },
  };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
