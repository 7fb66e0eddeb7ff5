// s16le bytes <-> Int16Array: network chunks split anywhere, even inside a sample, must give back the same samples.
import { describe, expect, it } from 'vitest';
import { PcmBytesDecoder, pcmFromByteStream, pcmToBytes } from '../../../worker/audio/pcm-bytes.ts';
import { concatPcm } from '../../../worker/audio/frames.ts';

const SAMPLES = Int16Array.from([0, 1, -1, 32767, -32768, 12345, -2222, 256, -256]);


async function* chunked(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (const size of sizes) {
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
  if (offset < bytes.length) yield bytes.subarray(offset);
}

describe('PCM bytes', () => {
  it('writes little-endian bytes', () => {
    expect([...pcmToBytes(Int16Array.from([0x0102, -2]))]).toEqual([0x02, 0x01, 0xfe, 0xff]);
  });

  it('gives back the same samples for a split at every byte position', () => {
    const bytes = pcmToBytes(SAMPLES);
    for (let split = 0; split <= bytes.length; split++) {
      const decoder = new PcmBytesDecoder();
      const out = concatPcm([decoder.push(bytes.subarray(0, split)), decoder.push(bytes.subarray(split))]);
      expect(out).toEqual(SAMPLES);
      expect(decoder.hasPartialSample).toBe(false);
    }
  });

  it('carries an odd byte across one-byte and empty chunks', async () => {
    const bytes = pcmToBytes(SAMPLES);
    const sizes = [1, 0, 1, 3, 1, 0, 5, 1];
    const chunks: Int16Array[] = [];
    const stream = pcmFromByteStream(chunked(bytes, sizes));
    let next = await stream.next();
    while (!next.done) {
      expect(next.value.length).toBeGreaterThan(0);
      chunks.push(next.value);
      next = await stream.next();
    }
    expect(concatPcm(chunks)).toEqual(SAMPLES);
    expect(next.value).toEqual({ endedMidSample: false });
  });

  it('reports a stream that ends halfway through a sample', async () => {
    const bytes = pcmToBytes(SAMPLES).subarray(0, 5);
    const stream = pcmFromByteStream(chunked(bytes, [5]));
    const first = await stream.next();
    expect(first.value).toEqual(SAMPLES.subarray(0, 2));
    expect(await stream.next()).toEqual({ done: true, value: { endedMidSample: true } });
  });
});
