// The engine's side of SttRequest.flush: one per utterance, shared by every provider the chain tries for it (a
// replacement after a failover listens from then on).
import type { FlushRequests } from './types.ts';

export class FlushRequester implements FlushRequests {
  readonly #listeners = new Set<() => void>();

  /** Asks the provider transcribing now to make final what it has heard so far. */
  request(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  listen(onRequest: () => void): () => void {
    this.#listeners.add(onRequest);
    return () => this.#listeners.delete(onRequest);
  }
}
