// The room-level signals both transports raise (callerJoined / callerLeft), typed end to end without an EventEmitter.
import type { TransportEvents } from './types.ts';

type TransportEvent = keyof TransportEvents;

export class TransportListeners {
  readonly #listeners: Record<TransportEvent, Set<(identity: string) => void>> = {
    callerJoined: new Set(),
    callerLeft: new Set(),
  };

  on<E extends TransportEvent>(event: E, listener: TransportEvents[E]): void {
    this.#listeners[event].add(listener);
  }

  /** Calls every listener; a listener that throws does not keep the others from hearing the event. */
  emit(event: TransportEvent, identity: string): unknown[] {
    const errors: unknown[] = [];
    for (const listener of this.#listeners[event]) {
      try {
        listener(identity);
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }
}
