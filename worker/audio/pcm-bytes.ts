// Vendors send and receive 16-bit PCM as little-endian bytes; the worker speaks Int16Array. A network chunk may end
// halfway through a sample: the odd byte waits for the next chunk instead of shifting every sample after it.
import { endianness } from 'node:os';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Turns s16le byte chunks of any length into whole samples, carrying an odd trailing byte to the next chunk. */
export class PcmBytesDecoder {
  #carry: number | undefined;

  /** True while half a sample is waiting: a stream that ends here was cut mid-sample. */
  get hasPartialSample(): boolean {
    return this.#carry !== undefined;
  }

  /** The whole samples completed by `bytes` (possibly none). */
  push(bytes: Uint8Array): Int16Array {
    const carried = this.#carry === undefined ? 0 : 1;
    const pcm = new Int16Array((carried + bytes.length) >> 1);
    let sample = 0;
    let offset = 0;
    if (this.#carry !== undefined && bytes.length > 0) {
      pcm[sample++] = toInt16(this.#carry | (bytes[0]! << 8));
      this.#carry = undefined;
      offset = 1;
    }
    for (; offset + 1 < bytes.length; offset += 2) pcm[sample++] = toInt16(bytes[offset]! | (bytes[offset + 1]! << 8));
    if (offset < bytes.length) this.#carry = bytes[offset];
    return pcm;
  }
}

function toInt16(unsigned: number): number {
  return (unsigned << 16) >> 16;
}

/**
 * Int16Array chunks from a stream of s16le bytes (empty chunks skipped). Returns whether the bytes ended halfway
 * through a sample, which only a cut stream does.
 */
export async function* pcmFromByteStream(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Int16Array, { endedMidSample: boolean }> {
  const decoder = new PcmBytesDecoder();
  for await (const chunk of bytes) {
    const pcm = decoder.push(chunk);
    if (pcm.length > 0) yield pcm;
  }
  return { endedMidSample: decoder.hasPartialSample };
}

/** The s16le bytes of `pcm`: a view without copying on little-endian hosts. */
export function pcmToBytes(pcm: Int16Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const bytes = new Uint8Array(pcm.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i]!, true);
  return bytes;
}
