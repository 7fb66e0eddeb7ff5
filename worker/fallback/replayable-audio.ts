// The current utterance's audio, kept so that a second STT provider can hear it from the start when the first one
// dies mid-sentence. Bounded: past `maxMs` the oldest audio is dropped (and counted), never the newest.
export class ReplayableAudio {
  readonly #frames: Int16Array[] = [];
  readonly #maxSamples: number;
  #samples = 0;
  #droppedSamples = 0;
  #ended = false;
  #waiters: (() => void)[] = [];
  readonly ended: Promise<void>;
  #markEnded: () => void = () => undefined;

  constructor(sampleRate: number, maxMs: number) {
    this.#maxSamples = Math.ceil((sampleRate * maxMs) / 1000);
    this.ended = new Promise((resolve) => (this.#markEnded = resolve));
    this.sampleRate = sampleRate;
  }

  readonly sampleRate: number;

  get droppedMs(): number {
    return (this.#droppedSamples / this.sampleRate) * 1000;
  }

  push(frame: Int16Array): void {
    if (this.#ended) return;
    this.#frames.push(frame);
    this.#samples += frame.length;
    while (this.#samples > this.#maxSamples && this.#frames.length > 1) {
      const dropped = this.#frames.shift()!;
      this.#samples -= dropped.length;
      this.#droppedSamples += dropped.length;
      this.#base++;
    }
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#markEnded();
    this.#wake();
  }

  /** Index of #frames[0] in the utterance: readers keep absolute positions so drops don't shift them. */
  #base = 0;

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Everything from the start of the utterance (as far as still kept), then live frames until end(). */
  async *reader(signal?: AbortSignal): AsyncGenerator<Int16Array> {
    let next = this.#base;
    for (;;) {
      if (signal?.aborted) return;
      if (next < this.#base) next = this.#base;
      const index = next - this.#base;
      if (index < this.#frames.length) {
        next++;
        yield this.#frames[index]!;
        continue;
      }
      if (this.#ended) return;
      // One wait per frame: the abort listener must go with it, or a long utterance piles one onto the signal per frame.
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }
}
