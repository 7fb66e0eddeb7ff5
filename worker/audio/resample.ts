// Sample-rate conversion for 16-bit mono PCM, streamed frame by frame. It runs on soxr through @livekit/rtc-node's
// AudioResampler: the worker already depends on rtc-node for its LiveKit transport, the resampler works offline (no
// server, no network), and soxr is a proper band-limited resampler, so downsampling is anti-aliased and a stream cut
// into 10–20 ms frames comes out the same as the whole signal resampled at once (the filter state carries over).
//
// Lifetime: the first resampler starts rtc-node's native FFI client, which keeps the Node event loop alive until
// `dispose()` from '@livekit/rtc-node' is called once at process shutdown. A resampler whose rates are equal is a
// plain copy and never starts it.
import { AudioFrame, AudioResampler, AudioResamplerQuality } from '@livekit/rtc-node';
import { concatPcm } from './frames.ts';

export const COMMON_SAMPLE_RATES = [8000, 16000, 22050, 24000, 44100, 48000] as const;

export type ResampleQuality = 'quick' | 'low' | 'medium' | 'high' | 'very_high';

const QUALITY: Record<ResampleQuality, AudioResamplerQuality> = {
  quick: AudioResamplerQuality.QUICK,
  low: AudioResamplerQuality.LOW,
  medium: AudioResamplerQuality.MEDIUM,
  high: AudioResamplerQuality.HIGH,
  very_high: AudioResamplerQuality.VERY_HIGH,
};

export class ResamplerClosedError extends Error {
  constructor() {
    super('resampler was closed');
    this.name = 'ResamplerClosedError';
  }
}

/** One per stream: it holds the filter state that makes frame boundaries inaudible. */
export class StreamResampler {
  readonly inputRate: number;
  readonly outputRate: number;
  #native: AudioResampler | undefined;
  #closed = false;

  constructor(inputRate: number, outputRate: number, quality: ResampleQuality = 'high') {
    for (const [name, rate] of [['input', inputRate], ['output', outputRate]] as const) {
      if (!Number.isInteger(rate) || rate <= 0) throw new RangeError(`${name} sample rate must be a positive integer, got ${rate}`);
    }
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    if (inputRate !== outputRate) this.#native = new AudioResampler(inputRate, outputRate, 1, QUALITY[quality]);
  }

  /** Resampled audio available so far (may be empty: the filter holds back a few milliseconds). */
  push(pcm: Int16Array): Int16Array {
    if (this.#closed) throw new ResamplerClosedError();
    if (!this.#native) return pcm.slice();
    if (pcm.length === 0) return new Int16Array(0);
    // rtc-node points the native side at the underlying ArrayBuffer from byte 0, so a view that starts further in
    // (a subarray, a pooled Buffer) would be read from the wrong place: give it an array of its own.
    const own = pcm.byteOffset === 0 ? pcm : pcm.slice();
    return concat(this.#native.push(new AudioFrame(own, this.inputRate, 1, own.length)));
  }

  /** The filter's tail, once, at the end of the stream. */
  flush(): Int16Array {
    if (this.#closed) throw new ResamplerClosedError();
    if (!this.#native) return new Int16Array(0);
    return concat(this.#native.flush());
  }

  /** Frees the native handle; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native?.close();
  }
}

/** A whole signal at once (a file, a TTS clip). */
export function resample(pcm: Int16Array, inputRate: number, outputRate: number, quality?: ResampleQuality): Int16Array {
  const resampler = new StreamResampler(inputRate, outputRate, quality);
  try {
    return concatPcm([resampler.push(pcm), resampler.flush()]);
  } finally {
    resampler.close();
  }
}

function concat(frames: AudioFrame[]): Int16Array {
  return concatPcm(frames.map((frame) => frame.data));
}

