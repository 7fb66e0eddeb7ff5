// A queue between a callback-style source (a websocket's events) and an async generator that consumes it. Items
// queued before a failure are still delivered, then the failure is thrown; waiting gives up when the signal aborts.
export class Inbox<T> {
  #items: T[] = [];
  #failure: { error: unknown } | undefined;
  #wake: (() => void) | undefined;

  push(item: T): void {
    if (this.#failure) return;
    this.#items.push(item);
    this.#wake?.();
  }

  /** Later pushes are ignored; the consumer gets the error once the queued items are read. */
  fail(error: unknown): void {
    this.#failure ??= { error };
    this.#wake?.();
  }

  /** The next item; throws the failure, or the signal's reason once it aborts. */
  async next(signal: AbortSignal): Promise<T> {
    for (;;) {
      signal.throwIfAborted();
      if (this.#items.length > 0) return this.#items.shift()!;
      if (this.#failure) throw this.#failure.error;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}
