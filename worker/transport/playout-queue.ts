// Agent audio waiting to be played, counted in samples so the console's timeline and both transports' playedMs()
// stay sample-accurate. Writes copy, so a caller may reuse its buffer; nothing here ever waits.

export class PlayoutQueue {
  #chunks: Int16Array[] = [];
  /** Samples of the first chunk already pulled. */
  #headOffset = 0;
  #queuedSamples = 0;

  get queuedSamples(): number {
    return this.#queuedSamples;
  }

  push(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    this.#chunks.push(pcm.slice());
    this.#queuedSamples += pcm.length;
  }

  /** Puts samples back at the head, to be played before everything queued (what a paused output had handed on). */
  unshift(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    if (this.#headOffset > 0) {
      this.#chunks[0] = this.#chunks[0]!.subarray(this.#headOffset);
      this.#headOffset = 0;
    }
    this.#chunks.unshift(pcm.slice());
    this.#queuedSamples += pcm.length;
  }

  /** Moves up to `target.length` samples into the start of `target`; returns how many were moved. */
  pullInto(target: Int16Array): number {
    let filled = 0;
    while (filled < target.length) {
      const head = this.#chunks[0];
      if (head === undefined) break;
      const take = Math.min(target.length - filled, head.length - this.#headOffset);
      target.set(head.subarray(this.#headOffset, this.#headOffset + take), filled);
      filled += take;
      this.#headOffset += take;
      if (this.#headOffset === head.length) {
        this.#chunks.shift();
        this.#headOffset = 0;
      }
    }
    this.#queuedSamples -= filled;
    return filled;
  }

  /** Drops everything queued; returns how many samples were dropped. */
  clear(): number {
    const dropped = this.#queuedSamples;
    this.#chunks = [];
    this.#headOffset = 0;
    this.#queuedSamples = 0;
    return dropped;
  }
}

export function samplesToMs(samples: number, sampleRate: number): number {
  return (samples * 1000) / sampleRate;
}
