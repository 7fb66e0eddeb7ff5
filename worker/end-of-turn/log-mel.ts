// The input Smart Turn v3 expects: a Whisper-style log-mel spectrogram of the last 8 s of 16 kHz audio, [80 mels × 800
// frames]. Every parameter comes from the pipecat-ai 1.14.0 wheel (BSD-2-Clause), which computes it in numpy —
// pipecat/audio/turn/smart_turn/_whisper_features.py and local_smart_turn_v3.py — reimplemented here, not copied:
// - audio as int16 / 32768; the LAST 8 s (128,000 samples) are kept, and shorter audio is zero-padded at the START
//   (so the end of speech always sits at the end of the window);
// - zero-mean, unit-variance normalisation of those 128,000 samples (variance + 1e-7), before the spectrogram;
// - a centred STFT: reflect padding of 200 samples each side, 400-sample periodic Hann window, hop 160 → 801 frames,
//   power spectrum |X|² over 201 bins;
// - 80 triangular mel filters on the Slaney mel scale (linear below 1 kHz, logarithmic above) from 0 to 8 kHz with
//   Slaney area normalisation; mel energies floored at 1e-10, log10;
// - the last frame dropped (800 remain), values clamped to at least (max − 8), then (x + 4) / 4.
import { Fft } from './fft.ts';

export const MODEL_SAMPLE_RATE = 16_000;
export const WINDOW_SAMPLES = 8 * MODEL_SAMPLE_RATE;
export const N_MELS = 80;
export const N_FRAMES = 800;
const N_FFT = 400;
const HOP = 160;
const N_BINS = N_FFT / 2 + 1;
const PAD = N_FFT / 2;

const MEL_FLOOR = 1e-10;
const VARIANCE_EPSILON = 1e-7;

/** Slaney's mel scale: 3 mels per 200 Hz up to 1 kHz (= 15 mels), then 27 mels per factor 6.4. */
export function hzToMel(hz: number): number {
  return hz < 1000 ? (3 * hz) / 200 : 15 + (Math.log(hz / 1000) * 27) / Math.log(6.4);
}

export function melToHz(mel: number): number {
  return mel < 15 ? (200 * mel) / 3 : 1000 * Math.exp((Math.log(6.4) / 27) * (mel - 15));
}

/** A mel filter's non-zero weights: bins first..first+weights.length-1. */
interface MelFilter {
  first: number;
  weights: Float64Array;
}

function melFilters(): MelFilter[] {
  const melMax = hzToMel(MODEL_SAMPLE_RATE / 2);
  const edgesHz = Array.from({ length: N_MELS + 2 }, (_, i) => melToHz((melMax * i) / (N_MELS + 1)));
  const binHz = (k: number) => (k * (MODEL_SAMPLE_RATE / 2)) / (N_BINS - 1);
  const filters: MelFilter[] = [];
  for (let m = 0; m < N_MELS; m++) {
    const [low, centre, high] = [edgesHz[m]!, edgesHz[m + 1]!, edgesHz[m + 2]!];
    const area = 2 / (high - low);
    const weights: number[] = [];
    let first = -1;
    for (let k = 0; k < N_BINS; k++) {
      const hz = binHz(k);
      const weight = Math.max(0, Math.min((hz - low) / (centre - low), (high - hz) / (high - centre))) * area;
      if (weight > 0) {
        if (first < 0) first = k;
        weights.push(weight);
      } else if (first >= 0) break;
    }
    filters.push({ first: Math.max(0, first), weights: Float64Array.from(weights) });
  }
  return filters;
}

/** What one call needs, built once per thread: the FFT plan, the window, the filters and the scratch buffers. */
export class LogMelExtractor {
  #fft = new Fft(N_FFT);
  #hann = Float64Array.from({ length: N_FFT }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N_FFT));
  #filters = melFilters();
  #padded = new Float64Array(WINDOW_SAMPLES + 2 * PAD);
  #frameRe = new Float64Array(N_FFT);
  #frameIm = new Float64Array(N_FFT);
  #specRe = new Float64Array(N_FFT);
  #specIm = new Float64Array(N_FFT);
  #power = new Float64Array(N_BINS * 2);

  /** [80 × 800] features, mel-major (the model's [1, 80, 800] input), of the last 8 s of `pcm16k`. */
  extract(pcm16k: Int16Array): Float32Array {
    this.#normalisedWindow(pcm16k);
    const logMel = new Float64Array(N_MELS * N_FRAMES);
    // Two real frames per complex FFT (one as the real part, one as the imaginary), separated by conjugate symmetry.
    for (let frame = 0; frame < N_FRAMES; frame += 2) {
      const pair = frame + 1 < N_FRAMES;
      this.#twoFramePower(frame, pair ? frame + 1 : -1);
      this.#melColumn(logMel, frame, 0);
      if (pair) this.#melColumn(logMel, frame + 1, N_BINS);
    }
    // Frame 800 (the 801st) is never computed: the reference drops it before the clamp.
    let max = -Infinity;
    for (const value of logMel) if (value > max) max = value;
    const out = new Float32Array(logMel.length);
    for (let i = 0; i < logMel.length; i++) out[i] = (Math.max(logMel[i]!, max - 8) + 4) / 4;
    return out;
  }

  #normalisedWindow(pcm16k: Int16Array): void {
    const recent = pcm16k.length > WINDOW_SAMPLES ? pcm16k.subarray(pcm16k.length - WINDOW_SAMPLES) : pcm16k;
    const lead = WINDOW_SAMPLES - recent.length;
    let sum = 0;
    for (const sample of recent) sum += sample / 32768;
    const mean = sum / WINDOW_SAMPLES;
    let squares = 0;
    for (const sample of recent) squares += (sample / 32768 - mean) ** 2;
    squares += lead * mean * mean; // the zero padding's share
    const scale = 1 / Math.sqrt(squares / WINDOW_SAMPLES + VARIANCE_EPSILON);
    const padded = this.#padded;
    // The reference normalises a float32 buffer: rounding each sample to float32 keeps the two within float noise.
    const zero = Math.fround(-mean * scale);
    padded.fill(zero, PAD, PAD + lead);
    for (let i = 0; i < recent.length; i++) padded[PAD + lead + i] = Math.fround((recent[i]! / 32768 - mean) * scale);
    // numpy's "reflect": the edge sample is not repeated.
    for (let i = 1; i <= PAD; i++) {
      padded[PAD - i] = padded[PAD + i]!;
      padded[PAD + WINDOW_SAMPLES - 1 + i] = padded[PAD + WINDOW_SAMPLES - 1 - i]!;
    }
  }

  /** |X|² of frame `a` into power[0..200] and of frame `b` (if ≥ 0) into power[201..401]. */
  #twoFramePower(a: number, b: number): void {
    const re = this.#frameRe;
    const im = this.#frameIm;
    for (let i = 0; i < N_FFT; i++) {
      re[i] = this.#padded[a * HOP + i]! * this.#hann[i]!;
      im[i] = b >= 0 ? this.#padded[b * HOP + i]! * this.#hann[i]! : 0;
    }
    this.#fft.transform(re, im, this.#specRe, this.#specIm);
    const zr = this.#specRe;
    const zi = this.#specIm;
    for (let k = 0; k < N_BINS; k++) {
      const mirror = (N_FFT - k) % N_FFT;
      const [pr, pi, nr, ni] = [zr[k]!, zi[k]!, zr[mirror]!, zi[mirror]!];
      // A = (Z[k] + conj Z[N−k]) / 2 and B = (Z[k] − conj Z[N−k]) / 2i.
      this.#power[k] = ((pr + nr) ** 2 + (pi - ni) ** 2) / 4;
      this.#power[N_BINS + k] = ((pi + ni) ** 2 + (pr - nr) ** 2) / 4;
    }
  }

  #melColumn(logMel: Float64Array, frame: number, powerAt: number): void {
    for (let m = 0; m < N_MELS; m++) {
      const { first, weights } = this.#filters[m]!;
      let energy = 0;
      for (let j = 0; j < weights.length; j++) energy += weights[j]! * this.#power[powerAt + first + j]!;
      logMel[m * N_FRAMES + frame] = Math.log10(Math.max(MEL_FLOOR, energy));
    }
  }
}

