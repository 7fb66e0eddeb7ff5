// Which written sample has left the worker: a sink counts samples in (write) and out (handed to WebRTC, or laid on
// the console's timeline), and tells a listener when the sample that was next at the time it asked goes out. The
// turn trace uses it for "first frame out of the worker"; samples cleared by a barge-in never go out.
import { epochMs } from '../agent/turn-trace.ts';

interface Waiter {
  position: number;
  listener: (atEpochMs: number) => void;
}

export class OutWatch {
  #written = 0;
  #out = 0;
  #waiters: Waiter[] = [];

  wrote(samples: number): void {
    this.#written += samples;
  }

  /** Calls `listener` once, when the next sample written after this call goes out. */
  onNextOut(listener: (atEpochMs: number) => void): void {
    this.#waiters.push({ position: this.#written, listener });
  }

  wentOut(samples: number): void {
    this.#out += samples;
    if (this.#waiters.length === 0) return;
    const at = epochMs();
    const ready = this.#waiters.filter((w) => w.position < this.#out);
    this.#waiters = this.#waiters.filter((w) => w.position >= this.#out);
    for (const w of ready) w.listener(at);
  }

  /** Samples that went out came back to be sent again (a paused output): they go out a second time. */
  returned(samples: number): void {
    this.#out -= samples;
  }

  /** Queued samples dropped before they went out: whoever waited for them waits no more. */
  dropped(samples: number): void {
    this.#out += samples;
    this.#waiters = this.#waiters.filter((w) => w.position >= this.#out);
  }
}
