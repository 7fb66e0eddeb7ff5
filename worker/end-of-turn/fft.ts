// A complex FFT for any length whose prime factors are small (Whisper's 400-point frames are 2⁴·5²), by mixed-radix
// Cooley–Tukey decimation in time. Written for the log-mel features: a plain DFT of 801 frames × 400 points would
// cost ~130 M multiply-adds per call, this costs ~6 M. Not a general-purpose library: no in-place variant, no inverse.

export class Fft {
  readonly size: number;
  #factors: number[];
  #cos: Float64Array;
  #sin: Float64Array;
  #sumRe: Float64Array;
  #sumIm: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`FFT size must be a positive integer, got ${size}`);
    this.size = size;
    this.#factors = smallFactors(size);
    // W^j = e^(-2πij/size) for every j: each stage's twiddles are W^(j·size/n) of the full table.
    this.#cos = new Float64Array(size);
    this.#sin = new Float64Array(size);
    for (let j = 0; j < size; j++) {
      this.#cos[j] = Math.cos((2 * Math.PI * j) / size);
      this.#sin[j] = -Math.sin((2 * Math.PI * j) / size);
    }
    const largest = Math.max(1, ...this.#factors);
    this.#sumRe = new Float64Array(largest);
    this.#sumIm = new Float64Array(largest);
  }

  /** X[k] = Σ x[j]·e^(-2πijk/N) of (inRe, inIm) into (outRe, outIm); the inputs are left as they were. */
  transform(inRe: Float64Array, inIm: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    this.#stage(inRe, inIm, 0, 1, this.size, outRe, outIm, 0, 0);
  }

  #stage(
    inRe: Float64Array,
    inIm: Float64Array,
    inAt: number,
    stride: number,
    n: number,
    outRe: Float64Array,
    outIm: Float64Array,
    outAt: number,
    depth: number,
  ): void {
    if (n === 1) {
      outRe[outAt] = inRe[inAt]!;
      outIm[outAt] = inIm[inAt]!;
      return;
    }
    const p = this.#factors[depth]!;
    const m = n / p;
    // p interleaved sub-sequences, each transformed into its own contiguous block of m outputs.
    for (let r = 0; r < p; r++) this.#stage(inRe, inIm, inAt + r * stride, stride * p, m, outRe, outIm, outAt + r * m, depth + 1);

    const step = this.size / n; // W_n^j = W_size^(j·step)
    const sumRe = this.#sumRe;
    const sumIm = this.#sumIm;
    for (let k = 0; k < m; k++) {
      // Twiddled sub-results t_r = W_n^(r·k) · Y_r[k], kept in sum* while the p outputs are formed.
      for (let r = 0; r < p; r++) {
        const at = outAt + r * m + k;
        const w = (r * k * step) % this.size;
        const c = this.#cos[w]!;
        const s = this.#sin[w]!;
        const re = outRe[at]!;
        const im = outIm[at]!;
        sumRe[r] = re * c - im * s;
        sumIm[r] = re * s + im * c;
      }
      // X[k + q·m] = Σ_r t_r · W_p^(r·q): a p-point DFT of the twiddled values.
      const pStep = this.size / p;
      for (let q = 0; q < p; q++) {
        let re = 0;
        let im = 0;
        for (let r = 0; r < p; r++) {
          const w = ((r * q) % p) * pStep;
          const c = this.#cos[w]!;
          const s = this.#sin[w]!;
          re += sumRe[r]! * c - sumIm[r]! * s;
          im += sumRe[r]! * s + sumIm[r]! * c;
        }
        outRe[outAt + k + q * m] = re;
        outIm[outAt + k + q * m] = im;
      }
    }
  }
}

function smallFactors(n: number): number[] {
  const factors: number[] = [];
  let rest = n;
  for (const p of [4, 2, 3, 5, 7]) {
    while (rest % p === 0) {
      factors.push(p);
      rest /= p;
    }
  }
  if (rest !== 1) throw new RangeError(`FFT size ${n} has a prime factor above 7`);
  return factors;
}
