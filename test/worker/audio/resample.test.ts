// Resampling between the common rates: pitch is kept, downsampling is anti-aliased, and a stream fed in 20 ms frames
// comes out as the whole signal resampled at once (no clicks where frames meet).
import { describe, expect, it } from 'vitest';
import { COMMON_SAMPLE_RATES, resample, ResamplerClosedError, StreamResampler } from '../../../worker/audio/resample.ts';
import { msToSamples } from '../../../worker/audio/frames.ts';
import { rms, sine } from './audio-tools.ts';


/** Frequency from upward zero crossings over the steady middle of a signal (the filter's ramp-in is left out). */
function measuredFrequencyHz(pcm: Int16Array, sampleRate: number): number {
  const from = Math.floor(pcm.length * 0.1);
  const to = Math.floor(pcm.length * 0.9);
  let first = -1;
  let last = -1;
  let crossings = 0;
  for (let i = from + 1; i < to; i++) {
    if (pcm[i - 1]! < 0 && pcm[i]! >= 0) {
      // Where between the two samples the wave crossed zero, for sub-sample precision.
      const at = i - 1 + -pcm[i - 1]! / (pcm[i]! - pcm[i - 1]!);
      if (first < 0) first = at;
      else crossings++;
      last = at;
    }
  }
  return (crossings * sampleRate) / (last - first);
}

function streamInFrames(pcm: Int16Array, inputRate: number, outputRate: number, frameMs: number): Int16Array {
  const resampler = new StreamResampler(inputRate, outputRate);
  const frame = msToSamples(frameMs, inputRate);
  const parts: Int16Array[] = [];
  // subarray views on purpose: frames from a transport are views into bigger buffers.
  for (let at = 0; at < pcm.length; at += frame) parts.push(resampler.push(pcm.subarray(at, at + frame)));
  parts.push(resampler.flush());
  resampler.close();
  const out = new Int16Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function maxAbsDifference(a: Int16Array, b: Int16Array): number {
  let max = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('resampling 16-bit mono PCM', () => {
  it('keeps a 440 Hz tone at 440 Hz through 22.05 kHz → 16 kHz → 48 kHz', () => {
    const tone22k = sine(440, 2, 22_050, 12_000);
    expect(measuredFrequencyHz(tone22k, 22_050)).toBeCloseTo(440, 0);
    const tone16k = resample(tone22k, 22_050, 16_000);
    const tone48k = resample(tone16k, 16_000, 48_000);
    expect(tone16k.length).toBe(32_000);
    expect(tone48k.length).toBe(96_000);
    expect(Math.abs(measuredFrequencyHz(tone16k, 16_000) - 440)).toBeLessThan(0.5);
    expect(Math.abs(measuredFrequencyHz(tone48k, 48_000) - 440)).toBeLessThan(0.5);
    // …and its level: a 440 Hz tone is far inside every passband.
    expect(rms(tone48k.subarray(4800, 91_200)) / rms(tone22k)).toBeCloseTo(1, 1);
  });

  it('streamed in 20 ms frames, equals the one-shot result and has no clicks at frame boundaries', () => {
    const tone22k = sine(440, 1.5, 22_050, 12_000);
    const oneShot16k = resample(tone22k, 22_050, 16_000);
    const streamed16k = streamInFrames(tone22k, 22_050, 16_000, 20);
    expect(streamed16k.length).toBe(oneShot16k.length);
    expect(maxAbsDifference(streamed16k, oneShot16k)).toBeLessThanOrEqual(3); // a few LSB of rounding

    const oneShot48k = resample(oneShot16k, 16_000, 48_000);
    const streamed48k = streamInFrames(streamed16k, 16_000, 48_000, 10);
    expect(streamed48k.length).toBe(oneShot48k.length);
    expect(maxAbsDifference(streamed48k, oneShot48k)).toBeLessThanOrEqual(6);

    // A click is a jump between neighbouring samples steeper than the tone itself ever is.
    const steepest = 12_000 * Math.sin((2 * Math.PI * 440) / 48_000);
    let maxStep = 0;
    for (let i = 4800; i < streamed48k.length - 4800; i++) maxStep = Math.max(maxStep, Math.abs(streamed48k[i]! - streamed48k[i - 1]!));
    expect(maxStep).toBeLessThan(steepest * 1.05 + 4);
  });

  it('filters out what the lower rate cannot hold instead of folding it back (anti-aliasing)', () => {
    // At 16 kHz, 12 kHz would alias to 4 kHz at full level; 3 kHz is in band and must pass.
    const inBand = resample(sine(3_000, 1, 48_000, 10_000), 48_000, 16_000);
    const aboveNyquist = resample(sine(12_000, 1, 48_000, 10_000), 48_000, 16_000);
    expect(rms(inBand.subarray(1600, 14_400)) / (10_000 / Math.SQRT2)).toBeGreaterThan(0.95);
    expect(rms(aboveNyquist.subarray(1600, 14_400)) / (10_000 / Math.SQRT2)).toBeLessThan(0.01); // below −40 dB
  });

  it('converts between every pair of common rates with the expected length', () => {
    const seconds = 0.5;
    for (const from of COMMON_SAMPLE_RATES) {
      const input = sine(300, seconds, from, 8000);
      for (const to of COMMON_SAMPLE_RATES) {
        const output = resample(input, from, to);
        expect(Math.abs(output.length - seconds * to), `${from} → ${to}`).toBeLessThanOrEqual(1);
        expect(Math.abs(measuredFrequencyHz(output, to) - 300), `${from} → ${to}`).toBeLessThan(1);
      }
    }
  });

  it('copies audio unchanged when the rates are equal', () => {
    const pcm = sine(1_000, 0.1, 16_000, 5000);
    const resampler = new StreamResampler(16_000, 16_000);
    const out = resampler.push(pcm);
    expect(out).toEqual(pcm);
    expect(out).not.toBe(pcm);
    expect(resampler.flush()).toHaveLength(0);
  });

  it('refuses bad rates and use after close', () => {
    expect(() => new StreamResampler(0, 16_000)).toThrow(RangeError);
    expect(() => new StreamResampler(16_000, 44_100.5)).toThrow(/output sample rate/);
    const resampler = new StreamResampler(48_000, 16_000);
    resampler.close();
    resampler.close();
    expect(() => resampler.push(new Int16Array(480))).toThrow(ResamplerClosedError);
  });
});
