// The Smart Turn input features: equal to pipecat's numpy reference on a known signal, built from the last 8 s with
// zero padding in front, and resting on an FFT that agrees with the plain DFT.
import { describe, expect, it } from 'vitest';
import { Fft } from '../../../worker/end-of-turn/fft.ts';
import { hzToMel, LogMelExtractor, melToHz, N_FRAMES, N_MELS, WINDOW_SAMPLES } from '../../../worker/end-of-turn/log-mel.ts';
import { REFERENCE_FEATURES, REFERENCE_MAX, REFERENCE_MIN, referenceSignal } from './reference-signal.ts';

const extractor = new LogMelExtractor();

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function noise(samples: number, seed: number): Int16Array {
  const pcm = new Int16Array(samples);
  let state = seed;
  for (let i = 0; i < samples; i++) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    pcm[i] = (state % 8000) - 4000;
  }
  return pcm;
}

describe('log-mel features', () => {
  it('match pipecat-ai’s numpy reference on a known signal', () => {
    const features = extractor.extract(referenceSignal());
    expect(features.length).toBe(N_MELS * N_FRAMES);
    for (const [mel, frame, value] of REFERENCE_FEATURES) expect(features[mel * N_FRAMES + frame]).toBeCloseTo(value, 4);
    expect(Math.min(...features)).toBeCloseTo(REFERENCE_MIN, 4);
    expect(Math.max(...features)).toBeCloseTo(REFERENCE_MAX, 4);
  });

  it('pad short audio with zeros in front, so the end of speech is the end of the window', () => {
    const speech = referenceSignal();
    const withLeadingSilence = new Int16Array(speech.length + 16_000);
    withLeadingSilence.set(speech, 16_000);
    expect(maxDifference(extractor.extract(withLeadingSilence), extractor.extract(speech))).toBeLessThan(1e-6);
    // Silence after the speech is not the same thing: it moves the speech earlier in the window.
    const withTrailingSilence = new Int16Array(speech.length + 16_000);
    withTrailingSilence.set(speech, 0);
    expect(maxDifference(extractor.extract(withTrailingSilence), extractor.extract(speech))).toBeGreaterThan(0.5);
  });

  it('use only the last 8 s of longer audio', () => {
    const long = new Int16Array(WINDOW_SAMPLES + 40_000);
    long.set(noise(40_000, 7), 0);
    long.set(noise(WINDOW_SAMPLES, 11), 40_000);
    const lastEight = long.slice(long.length - WINDOW_SAMPLES);
    expect(maxDifference(extractor.extract(long), extractor.extract(lastEight))).toBe(0);
    expect(maxDifference(extractor.extract(long), extractor.extract(long.slice(0, WINDOW_SAMPLES)))).toBeGreaterThan(0.1);
  });

  it('lay the spectrum out mel-major: a 1 kHz tone lights the band around 15 mels, in every frame', () => {
    const tone = Int16Array.from({ length: WINDOW_SAMPLES }, (_, n) => Math.round(8000 * Math.sin((2 * Math.PI * 1000 * n) / 16_000)));
    const features = extractor.extract(tone);
    const band = (mel: number) => features.subarray(mel * N_FRAMES, (mel + 1) * N_FRAMES);
    const loudest = Array.from({ length: N_MELS }, (_, mel) => band(mel)[400]!).reduce((best, v, mel, all) => (v > all[best]! ? mel : best), 0);
    // Band m spans mel edges m·s … (m+2)·s, s = mel(8 kHz)/81: 1 kHz = 15 mels sits under band ⌊15/s⌋ − 1 or ⌊15/s⌋.
    const spacing = hzToMel(8000) / 81;
    expect([Math.floor(15 / spacing) - 1, Math.floor(15 / spacing)]).toContain(loudest);
    // Steady away from the two edge frames, whose reflect padding folds the tone back on itself.
    const inner = band(loudest).subarray(2, N_FRAMES - 2);
    expect(Math.max(...inner) - Math.min(...inner)).toBeLessThan(0.05);
  });

  it('use the Slaney mel scale', () => {
    expect(hzToMel(1000)).toBeCloseTo(15, 10);
    expect(hzToMel(200)).toBeCloseTo(3, 10);
    expect(hzToMel(6400)).toBeCloseTo(42, 10);
    for (const hz of [0, 440, 999, 1000, 3100, 8000]) expect(melToHz(hzToMel(hz))).toBeCloseTo(hz, 6);
  });
});

describe('Fft', () => {
  it.each([400, 12, 7, 1])('agrees with the plain DFT for %i points', (size) => {
    const re = Float64Array.from({ length: size }, (_, i) => Math.sin(i * 1.3) + (i % 3));
    const im = Float64Array.from({ length: size }, (_, i) => Math.cos(i * 0.7) - (i % 2));
    const outRe = new Float64Array(size);
    const outIm = new Float64Array(size);
    new Fft(size).transform(re, im, outRe, outIm);
    for (let k = 0; k < size; k++) {
      let sumRe = 0;
      let sumIm = 0;
      for (let j = 0; j < size; j++) {
        const angle = (-2 * Math.PI * j * k) / size;
        sumRe += re[j]! * Math.cos(angle) - im[j]! * Math.sin(angle);
        sumIm += re[j]! * Math.sin(angle) + im[j]! * Math.cos(angle);
      }
      expect(outRe[k]).toBeCloseTo(sumRe, 8);
      expect(outIm[k]).toBeCloseTo(sumIm, 8);
    }
  });

  it('refuses a size with a large prime factor', () => {
    expect(() => new Fft(22)).toThrow(/prime factor above 7/);
  });
});
