// Character timings for a piece of generated speech, consistent with kit/audio.ts (every character takes the same
// share of ttsDurationMsFor(text)). Integers, like the vendor's, and the durations add up to the audio's length.
import { ttsDurationMsFor } from '../kit/audio.ts';

export type Alignment = { chars: string[]; charStartTimesMs: number[]; charDurationsMs: number[] };

export function alignmentFor(text: string): Alignment {
  const chars = [...text];
  const msPerChar = chars.length > 0 ? ttsDurationMsFor(text) / chars.length : 0;
  const boundary = (i: number) => Math.round(i * msPerChar);
  return {
    chars,
    charStartTimesMs: chars.map((_, i) => boundary(i)),
    charDurationsMs: chars.map((_, i) => boundary(i + 1) - boundary(i)),
  };
}
