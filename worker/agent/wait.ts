// Waiting on the transport's clock (the console's is virtual) until a time passes or the turn is cancelled. The abort
// listener goes when the timer fires: a loop that waits many times on one signal must not pile listeners onto it.
export type SetTimer = (ms: number, fn: () => void) => { cancel(): void };

export function waitOn(setTimer: SetTimer, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const onAbort = () => {
      timer.cancel();
      resolve();
    };
    const timer = setTimer(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
