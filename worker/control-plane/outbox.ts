// A bounded, ordered queue of records waiting for the control plane, delivered one batch at a time. Pushing is
// synchronous and cheap; delivery happens later, off the caller's stack. When the functions are down the records stay
// (in order) until the bound is reached; past it the oldest go first, and every one that goes is counted.
import { isControlPlaneError } from './errors.ts';
import type { MinimalLogger } from './logger.ts';
import { backoffMs, withRetry, type RetryPolicy } from './retry.ts';

/** How a delivery run ended: all sent, the functions unreachable for now, the session over, or cut short. */
export type DrainResult = 'empty' | 'retry_later' | 'session_ended' | 'aborted';

export interface OutboxOptions<T> {
  /** For logs: `metrics`, `history`. */
  name: string;
  /** Records kept while waiting; an in-flight batch is held apart and comes back to the front if it fails. */
  capacity: number;
  batchSize: number;
  send(batch: T[], signal: AbortSignal): Promise<void>;
  retry: RetryPolicy;
  logger: MinimalLogger;
  /** Ends background delivery (close). */
  lifetime: AbortSignal;
  /** Records that will never be delivered: pushed out by the bound, or refused by the functions. */
  onDropped(count: number, why: 'buffer_full' | 'refused'): void;
  onSessionEnded(): void;
  /** When true with nothing queued, a run still sends one empty batch (heartbeat, pending drop count). */
  sendWhenEmpty?: () => boolean;
}

export class Outbox<T> {
  readonly #options: OutboxOptions<T>;
  #queue: T[] = [];
  #inFlight = 0;
  #delivered = 0;
  #running: Promise<DrainResult> | undefined;
  #again = false;
  #stopped = false;
  #failedRuns = 0;
  #notBeforeMs = 0;

  constructor(options: OutboxOptions<T>) {
    this.#options = options;
  }

  push(item: T): void {
    if (this.#stopped) return;
    this.#queue.push(item);
    this.#trim();
  }

  /** Records waiting, the in-flight batch included. */
  get pending(): number {
    return this.#queue.length + this.#inFlight;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get delivered(): number {
    return this.#delivered;
  }

  /** Starts a background delivery run unless one is running or the last one failed moments ago. Never throws. */
  kick(): void {
    if (this.#stopped || this.#options.lifetime.aborted) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (Date.now() < this.#notBeforeMs) return;
    this.#start(this.#options.lifetime, false);
  }

  /** Delivers what is queued, waiting first for a background run; `signal` bounds the whole of it. */
  async drainNow(signal: AbortSignal): Promise<DrainResult> {
    while (this.#running) {
      const finished = await untilAborted(this.#running, signal);
      if (finished === undefined) return 'aborted';
    }
    if (this.#stopped) return 'session_ended';
    if (signal.aborted) return 'aborted';
    return this.#start(signal, true);
  }

  /** No more deliveries (the session is over); what is queued stays queued, for the count. */
  stop(): void {
    this.#stopped = true;
  }

  /** Resolves once no run is in progress (after close aborts the lifetime signal, that is quick). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  #start(signal: AbortSignal, keepAlive: boolean): Promise<DrainResult> {
    const run = this.#drain(signal, keepAlive).catch((err: unknown) => {
      this.#options.logger.error({ outbox: this.#options.name, err: String(err) }, 'reporter_delivery_bug');
      return 'retry_later' as const;
    });
    this.#running = run;
    void run.then((result) => {
      if (this.#running === run) this.#running = undefined;
      this.#afterRun(result);
    });
    return run;
  }

  #afterRun(result: DrainResult): void {
    if (result === 'retry_later') {
      // Let the functions recover before the next background run instead of hammering them tick after tick.
      this.#failedRuns += 1;
      this.#notBeforeMs = Date.now() + backoffMs(this.#options.retry, this.#failedRuns);
      this.#again = false;
      return;
    }
    if (result === 'empty') this.#failedRuns = 0;
    if (this.#again) {
      this.#again = false;
      this.kick();
    }
  }

  async #drain(signal: AbortSignal, keepAlive: boolean): Promise<DrainResult> {
    // Off the pusher's stack: building and checking a batch is work the audio path must not pay for.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const { batchSize, retry, logger, name, send } = this.#options;
    let sentAny = false;
    for (;;) {
      if (this.#stopped) return 'session_ended';
      if (signal.aborted) return 'aborted';
      if (this.#queue.length === 0 && (sentAny || !this.#options.sendWhenEmpty?.())) return 'empty';
      const batch = this.#queue.splice(0, batchSize);
      this.#inFlight = batch.length;
      try {
        await withRetry((attemptSignal) => send(batch, attemptSignal), retry, {
          signal,
          keepAlive,
          onRetry: (err, attempt, waitMs) =>
            logger.debug({ outbox: name, attempt, waitMs, reason: String(err) }, 'reporter_retrying'),
        });
        this.#delivered += batch.length;
        sentAny = true;
      } catch (err) {
        if (isControlPlaneError(err) && err.sessionEnded) {
          this.#requeue(batch);
          this.#stopped = true;
          logger.info({ outbox: name, pending: this.pending }, 'reporter_session_ended');
          this.#options.onSessionEnded();
          return 'session_ended';
        }
        if (signal.aborted || (isControlPlaneError(err) && err.retryable)) {
          this.#requeue(batch);
          if (!signal.aborted) logger.warn({ outbox: name, pending: this.pending, reason: String(err) }, 'reporter_delivery_failed');
          return signal.aborted ? 'aborted' : 'retry_later';
        }
        // Refused for good (400/401/404, or a body that breaks the contract): sending it again cannot help.
        logger.error({ outbox: name, records: batch.length, reason: String(err) }, 'reporter_batch_refused');
        this.#options.onDropped(batch.length, 'refused');
      } finally {
        this.#inFlight = 0;
      }
    }
  }

  #requeue(batch: T[]): void {
    this.#queue = batch.concat(this.#queue);
    this.#trim();
  }

  #trim(): void {
    const excess = this.#queue.length - this.#options.capacity;
    if (excess <= 0) return;
    this.#queue.splice(0, excess);
    this.#options.onDropped(excess, 'buffer_full');
  }
}

/** The promise's value, or undefined once the signal ends first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}
