// The caller's recent audio, exactly as the transport delivered it, with each frame's position in the stream: an
// utterance the VAD confirms late begins with the pre-roll from here, so the STT hears every sample from just before
// the onset on, each once. Frames are copied in (a transport may reuse its buffers).

interface HeldFrame {
  startSample: number;
  pcm: Int16Array;
}

export class AudioTap {
  readonly #holdSamples: number;
  #frames: HeldFrame[] = [];
  #received = 0;

  /** Keeps at least `holdSamples` of the most recent audio. */
  constructor(holdSamples: number) {
    this.#holdSamples = holdSamples;
  }

  /** Samples received since the stream began. */
  get receivedSamples(): number {
    return this.#received;
  }

  /** Holds a copy of `frame` and returns it: the copy is safe to hand on (to the STT) while the transport reuses its buffer. */
  push(frame: Int16Array): Int16Array {
    const pcm = frame.slice();
    this.#frames.push({ startSample: this.#received, pcm });
    this.#received += frame.length;
    while (this.#frames.length > 1 && this.#received - this.#frames[1]!.startSample >= this.#holdSamples) this.#frames.shift();
    return pcm;
  }

  /** The audio from stream position `fromSample` (clamped to what is held) to the end of what was received. */
  since(fromSample: number): Int16Array {
    const heldFrom = this.#frames[0]?.startSample ?? this.#received;
    const from = Math.min(this.#received, Math.max(heldFrom, fromSample));
    const out = new Int16Array(this.#received - from);
    for (const f of this.#frames) {
      const end = f.startSample + f.pcm.length;
      if (end <= from) continue;
      const skip = Math.max(0, from - f.startSample);
      out.set(f.pcm.subarray(skip), f.startSample + skip - from);
    }
    return out;
  }
}
