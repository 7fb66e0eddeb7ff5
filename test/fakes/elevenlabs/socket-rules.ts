// What both stream-input sockets (single and multi-context) do on their own: end with ElevenLabs' error message and
// close 1008, and close when no text came for `inactivity_timeout` seconds (speaking is not idling: the clock only
// runs out once everything queued has gone out).
import type { WsOutbox } from '../ws-outbox.ts';

/** ElevenLabs' error message on its stream-input sockets. */
export type SocketError = { message: string; error: string; code: number };

/** A client message as JSON, or undefined when it is not JSON at all (the caller then checks its shape). */
export function parseMessage(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export function closeWithError<M>(outbox: WsOutbox<M | SocketError>, error: string, message: string): void {
  outbox.send({ message, error, code: 1008 });
  outbox.close(1008, message.slice(0, 120));
}

export class InactivityTimer {
  readonly #outbox: { readonly pending: number };
  readonly #timeoutMs: number;
  readonly #onExpired: (message: string) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(outbox: { readonly pending: number }, timeoutMs: number, onExpired: (message: string) => void) {
    this.#outbox = outbox;
    this.#timeoutMs = timeoutMs;
    this.#onExpired = onExpired;
  }

  arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#outbox.pending > 0) return this.arm();
      const seconds = Math.round(this.#timeoutMs / 100) / 10;
      this.#onExpired(`Have not received new text for ${seconds} seconds. Closing the connection.`);
    }, this.#timeoutMs);
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}
