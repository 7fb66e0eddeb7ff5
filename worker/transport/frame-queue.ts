// Caller audio handed from a transport to its one reader: the transport pushes without ever waiting (a media callback
// or a clock tick must not stall), the reader awaits the next frame. A bound keeps a reader that stopped reading from
// growing memory without limit: the oldest frames go first, and they are counted.

export interface FrameQueueOptions {
  /** Most frames kept while nobody reads; unbounded when absent. */
  maxFrames?: number;
}

export class FrameQueue<T> implements AsyncIterable<T> {
  #frames: T[] = [];
  #ended = false;
  #iterated = false;
  #dropped = 0;
  #wakeReader: ((result: IteratorResult<T, undefined>) => void) | undefined;
  readonly #maxFrames: number;

  constructor(options: FrameQueueOptions = {}) {
    this.#maxFrames = options.maxFrames ?? Number.POSITIVE_INFINITY;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Frames pushed and not yet taken by the reader. */
  get size(): number {
    return this.#frames.length;
  }

  /** Frames dropped because the reader fell `maxFrames` behind. */
  get droppedFrames(): number {
    return this.#dropped;
  }

  push(frame: T): void {
    if (this.#ended) return;
    const wake = this.#wakeReader;
    if (wake) {
      this.#wakeReader = undefined;
      wake({ value: frame, done: false });
      return;
    }
    this.#frames.push(frame);
    if (this.#frames.length > this.#maxFrames) {
      this.#frames.shift();
      this.#dropped++;
    }
  }

  /** No more frames: the reader gets what is queued, then the end. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    if (this.#iterated) throw new Error('FrameQueue has one reader: it was already iterated');
    this.#iterated = true;
    return {
      next: () => {
        const frame = this.#frames.shift();
        if (frame !== undefined) return Promise.resolve({ value: frame, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.#wakeReader = resolve;
        });
      },
      return: () => {
        // The reader left early (break): nothing will read what comes next.
        this.#frames = [];
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
