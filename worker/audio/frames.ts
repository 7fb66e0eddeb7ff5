// Fixed-size frames out of PCM that arrives in chunks of any length (a file read, a network packet, a resampler's
// output): the stages after the transport count time in frames, so the leftover of one chunk waits for the next.

export function msToSamples(ms: number, sampleRate: number): number {
  return Math.round((ms * sampleRate) / 1000);
}

export function samplesToMs(samples: number, sampleRate: number): number {
  return (samples * 1000) / sampleRate;
}

export class FrameSlicer {
  readonly frameSamples: number;
  #pending: Int16Array;
  #pendingLength = 0;

  constructor(frameSamples: number) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) {
      throw new RangeError(`frame size must be a positive integer, got ${frameSamples}`);
    }
    this.frameSamples = frameSamples;
    this.#pending = new Int16Array(frameSamples);
  }

  static ofDuration(frameMs: number, sampleRate: number): FrameSlicer {
    return new FrameSlicer(msToSamples(frameMs, sampleRate));
  }

  /** Samples waiting for the rest of their frame. */
  get pendingSamples(): number {
    return this.#pendingLength;
  }

  /** Every frame completed by `pcm`, each a fresh array the caller may keep. */
  push(pcm: Int16Array): Int16Array[] {
    const frames: Int16Array[] = [];
    let read = 0;
    if (this.#pendingLength > 0) {
      const take = Math.min(this.frameSamples - this.#pendingLength, pcm.length);
      this.#pending.set(pcm.subarray(0, take), this.#pendingLength);
      this.#pendingLength += take;
      read = take;
      if (this.#pendingLength < this.frameSamples) return frames;
      frames.push(this.#pending.slice());
      this.#pendingLength = 0;
    }
    for (; read + this.frameSamples <= pcm.length; read += this.frameSamples) frames.push(pcm.slice(read, read + this.frameSamples));
    this.#pending.set(pcm.subarray(read), 0);
    this.#pendingLength = pcm.length - read;
    return frames;
  }

  /**
   * The leftover at the end of a stream (empty when there is none). With `padToFrame` it is filled up with silence to a
   * whole frame, for consumers that only take whole frames.
   */
  flush(options: { padToFrame?: boolean } = {}): Int16Array {
    const length = this.#pendingLength;
    this.#pendingLength = 0;
    if (length === 0) return new Int16Array(0);
    if (options.padToFrame) {
      const frame = new Int16Array(this.frameSamples);
      frame.set(this.#pending.subarray(0, length));
      return frame;
    }
    return this.#pending.slice(0, length);
  }
}

/** Fixed frames from a stream of chunks; the last, shorter frame is padded with silence when `padLast` is set, else dropped. */
export async function* sliceFrames(
  chunks: AsyncIterable<Int16Array> | Iterable<Int16Array>,
  frameSamples: number,
  options: { padLast?: boolean } = {},
): AsyncGenerator<Int16Array> {
  const slicer = new FrameSlicer(frameSamples);
  for await (const chunk of chunks) yield* slicer.push(chunk);
  const last = slicer.flush({ padToFrame: true });
  if (options.padLast && last.length > 0) yield last;
}

/** One array holding `parts` back to back. */
export function concatPcm(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
