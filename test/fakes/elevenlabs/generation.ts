// One generation (a piece of text turned into speech) as the vendor's WebSockets send it: base64 PCM messages of
// chunkMs each, the whole generation's character alignment on the first one and null on the rest.
import { chunkPcmBytes, pcmFromText, pcmToBuffer } from '../kit/audio.ts';
import { alignmentFor, type Alignment } from './alignment.ts';

export type AudioMessage = { audio: string; isFinal: null; normalizedAlignment: Alignment | null; alignment: Alignment | null };

export function generationMessages(text: string, sampleRate: number, chunkMs: number): AudioMessage[] {
  if (text.trim() === '') return [];
  const alignment = alignmentFor(text);
  return chunkPcmBytes(pcmToBuffer(pcmFromText(text, sampleRate)), sampleRate, chunkMs).map((chunk, i) => {
    const timing = i === 0 ? alignment : null;
    return { audio: chunk.toString('base64'), isFinal: null, normalizedAlignment: timing, alignment: timing };
  });
}
