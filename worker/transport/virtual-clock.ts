// The console's clock: audio time that advances one frame per tick, each tick paced at frameMs / speed real ms. Every
// time the console reports (playout, timers, recorded states) is read from this clock, so a run at --fast speed
// produces the same timeline as a run in real time. Timers fire on the first tick at or after their due time: their
// resolution is one frame. A tick or timer that throws is left uncaught, exactly as with a real setTimeout: the run is
// broken, and a clock that went on would only hide it.

export interface VirtualClockOptions {
  frameMs: number;
  /** 1 = real time; 20 runs twenty times faster; Infinity ticks as fast as the event loop allows. */
  speed: number;
  /** Runs first on every tick, with the time the tick advanced to. */
  onTick(nowMs: number): void;
  /**
   * Whether the next tick may happen. While false, time waits (up to maxWaitMs of real time a tick), so a reader that
   * falls behind — a busy CPU at --fast speed — sees the caller's audio at the times it really has, instead of late.
   */
  ready?(): boolean;
  maxWaitMs?: number;
}

const WAIT_POLL_MS = 1;

interface VirtualTimer {
  dueMs: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

export class VirtualClock {
  #nowMs = 0;
  #timers: VirtualTimer[] = [];
  #timerOrder = 0;
  #running = false;
  #ticks = 0;
  #realStartMs = 0;
  #pending: ReturnType<typeof setTimeout> | undefined;
  readonly #options: VirtualClockOptions;

  constructor(options: VirtualClockOptions) {
    if (!(options.frameMs > 0)) throw new RangeError(`frameMs must be positive, not ${options.frameMs}`);
    if (!(options.speed > 0)) throw new RangeError(`speed must be positive, not ${options.speed}`);
    this.#options = options;
  }

  now(): number {
    return this.#nowMs;
  }

  get running(): boolean {
    return this.#running;
  }

  setTimer(ms: number, fn: () => void): { cancel(): void } {
    const timer: VirtualTimer = { dueMs: this.#nowMs + Math.max(0, ms), order: this.#timerOrder++, fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#realStartMs = performance.now() - (this.#ticks * this.#options.frameMs) / this.#options.speed;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#pending);
    this.#pending = undefined;
  }

  /** Advances one frame: the tick callback, then every timer now due, in due order. */
  tick(): void {
    this.#ticks++;
    this.#nowMs = this.#ticks * this.#options.frameMs;
    this.#options.onTick(this.#nowMs);
    this.#fireDueTimers();
  }

  #fireDueTimers(): void {
    // Timers set by these callbacks wait for the next tick, so a timer that re-arms itself cannot spin forever.
    const due = this.#timers.filter((t) => t.dueMs <= this.#nowMs && !t.cancelled);
    if (due.length === 0) return;
    this.#timers = this.#timers.filter((t) => t.dueMs > this.#nowMs && !t.cancelled);
    due.sort((a, b) => a.dueMs - b.dueMs || a.order - b.order);
    for (const timer of due) {
      if (!timer.cancelled) timer.fn();
    }
  }

  #schedule(): void {
    // Each tick is due at start + n * frame / speed: lateness never accumulates into drift, and a late tick is
    // followed by the next one after a yield to the event loop rather than in a synchronous burst.
    const dueRealMs = this.#realStartMs + ((this.#ticks + 1) * this.#options.frameMs) / this.#options.speed;
    const delayMs = Math.max(0, dueRealMs - performance.now());
    this.#pending = setTimeout(() => this.#tickWhenReady(performance.now()), delayMs);
  }

  #tickWhenReady(waitingSinceMs: number): void {
    if (!this.#running) return;
    const waitedMs = performance.now() - waitingSinceMs;
    if (this.#options.ready && !this.#options.ready() && waitedMs < (this.#options.maxWaitMs ?? 500)) {
      this.#pending = setTimeout(() => this.#tickWhenReady(waitingSinceMs), WAIT_POLL_MS);
      return;
    }
    // Time stood still while we waited: later ticks keep their pace instead of rushing to catch up.
    this.#realStartMs += waitedMs;
    this.tick();
    if (this.#running) this.#schedule();
  }
}
