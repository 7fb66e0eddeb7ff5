// Cutting a PCM stream that arrives in chunks of any size into fixed frames, carrying what is left over.
import { describe, expect, it } from 'vitest';
import { FrameSlicer, msToSamples, samplesToMs, sliceFrames, concatPcm } from '../../../worker/audio/frames.ts';

const ramp = (length: number) => Int16Array.from({ length }, (_, i) => (i % 30_000) - 15_000);


describe('msToSamples / samplesToMs', () => {
  it('converts frame durations at the common rates', () => {
    expect(msToSamples(20, 16_000)).toBe(320);
    expect(msToSamples(10, 8_000)).toBe(80);
    expect(msToSamples(20, 22_050)).toBe(441);
    expect(msToSamples(10, 44_100)).toBe(441);
    expect(msToSamples(20, 48_000)).toBe(960);
    expect(msToSamples(32, 16_000)).toBe(512);
    expect(samplesToMs(512, 16_000)).toBe(32);
    expect(samplesToMs(441, 22_050)).toBe(20);
    expect(samplesToMs(1, 48_000)).toBeCloseTo(0.0208333, 6);
  });
});

describe('FrameSlicer', () => {
  it('cuts chunks of uneven sizes into whole frames, in order, losing nothing', () => {
    const input = ramp(5_000);
    const slicer = FrameSlicer.ofDuration(20, 16_000);
    const frames: Int16Array[] = [];
    let at = 0;
    for (const size of [1, 319, 320, 321, 0, 7, 1000, 100, 2932]) {
      frames.push(...slicer.push(input.subarray(at, at + size)));
      at += size;
    }
    expect(at).toBe(input.length);
    expect(frames.every((f) => f.length === 320)).toBe(true);
    expect(frames).toHaveLength(Math.floor(5_000 / 320));
    expect(slicer.pendingSamples).toBe(5_000 % 320);
    const tail = slicer.flush();
    expect(tail).toHaveLength(5_000 % 320);
    expect(concatPcm([...frames, tail])).toEqual(input);
    expect(slicer.pendingSamples).toBe(0);
  });

  it('hands out copies: the caller may reuse its buffer', () => {
    const slicer = new FrameSlicer(4);
    const buffer = Int16Array.from([1, 2, 3, 4, 5, 6]);
    const [first] = slicer.push(buffer);
    buffer.fill(0);
    expect(Array.from(first!)).toEqual([1, 2, 3, 4]);
    expect(Array.from(slicer.flush())).toEqual([5, 6]);
  });

  it('pads the leftover to a whole frame of silence on request', () => {
    const slicer = new FrameSlicer(5);
    slicer.push(Int16Array.from([9, 8, 7, 6, 5, 4, 3]));
    expect(Array.from(slicer.flush({ padToFrame: true }))).toEqual([4, 3, 0, 0, 0]);
    expect(slicer.flush({ padToFrame: true })).toHaveLength(0);
  });

  it('refuses a frame size that is not a positive integer', () => {
    expect(() => new FrameSlicer(0)).toThrow(RangeError);
    expect(() => new FrameSlicer(2.5)).toThrow(/positive integer/);
  });
});

describe('sliceFrames', () => {
  it('frames an async stream of chunks, padding or dropping the last partial frame', async () => {
    async function* chunks() {
      yield ramp(700);
      yield ramp(10);
    }
    const padded: Int16Array[] = [];
    for await (const frame of sliceFrames(chunks(), 320, { padLast: true })) padded.push(frame);
    expect(padded.map((f) => f.length)).toEqual([320, 320, 320]);
    expect(Array.from(padded[2]!.subarray(60, 70))).toEqual(Array.from(ramp(10)));
    expect(padded[2]!.subarray(70).every((s) => s === 0)).toBe(true);

    const dropped: Int16Array[] = [];
    for await (const frame of sliceFrames([ramp(700), ramp(10)], 320)) dropped.push(frame);
    expect(dropped).toHaveLength(2);
  });
});
