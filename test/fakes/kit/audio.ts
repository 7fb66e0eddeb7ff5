// Deterministic, audible, speech-like audio for the TTS fakes: one tone per word, a short gap at every space.
// Not silence, so energy-based VAD and STT fakes downstream treat it as speech; same text, same samples, every run.

export const MS_PER_CHARACTER = 55;
export const MIN_TTS_DURATION_MS = 200;
const AMPLITUDE = 0.3 * 32767;
const FADE_MS = 5; // ramps at word edges so the tone does not click

/** How long the fake TTS speaks `text`: 55 ms per character, at least 200 ms. */
export function ttsDurationMsFor(text: string): number {
  return Math.max(MIN_TTS_DURATION_MS, text.length * MS_PER_CHARACTER);
}

/** Samples for `durationMs` at `sampleRate` (rounded down, as the fakes produce them). */
export function samplesFor(durationMs: number, sampleRate: number): number {
  return Math.floor((durationMs * sampleRate) / 1000);
}

/** A stable 220..440 Hz pitch for the n-th word. */
function wordFrequencyHz(word: string, wordIndex: number): number {
  let hash = wordIndex * 31;
  for (let i = 0; i < word.length; i++) hash = (hash * 33 + word.charCodeAt(i)) % 9973;
  return 220 + (hash % 221);
}

type Span = { startMs: number; endMs: number; frequencyHz: number };

/** Where each word sounds: characters take MS_PER_CHARACTER each, spaces are gaps, short texts stretch to the minimum. */
function toneSpans(text: string, durationMs: number): Span[] {
  if (text.trim() === '') return [{ startMs: 0, endMs: durationMs, frequencyHz: 220 }];
  const msPerChar = durationMs / text.length;
  const spans: Span[] = [];
  let wordIndex = 0;
  for (const match of text.matchAll(/\S+/g)) {
    const start = match.index;
    spans.push({
      startMs: start * msPerChar,
      endMs: (start + match[0].length) * msPerChar,
      frequencyHz: wordFrequencyHz(match[0], wordIndex++),
    });
  }
  return spans;
}

/** 16-bit PCM mono at `sampleRate` speaking `text` for ttsDurationMsFor(text). */
export function pcmFromText(text: string, sampleRate: number): Int16Array {
  const durationMs = ttsDurationMsFor(text);
  const pcm = new Int16Array(samplesFor(durationMs, sampleRate));
  for (const span of toneSpans(text, durationMs)) {
    const first = Math.floor((span.startMs * sampleRate) / 1000);
    const last = Math.min(pcm.length, Math.floor((span.endMs * sampleRate) / 1000));
    const fadeSamples = Math.max(1, Math.floor((FADE_MS * sampleRate) / 1000));
    for (let i = first; i < last; i++) {
      const envelope = Math.min(1, (i - first) / fadeSamples, (last - 1 - i) / fadeSamples);
      pcm[i] = Math.round(AMPLITUDE * envelope * Math.sin((2 * Math.PI * span.frequencyHz * i) / sampleRate));
    }
  }
  return pcm;
}

/** Little-endian bytes of PCM samples, as every vendor sends s16le. */
export function pcmToBuffer(pcm: Int16Array): Buffer {
  const bytes = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) bytes.writeInt16LE(pcm[i] ?? 0, i * 2);
  return bytes;
}

/** Samples from s16le bytes (an odd trailing byte is dropped). */
export function bufferToPcm(bytes: Uint8Array): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pcm = new Int16Array(Math.floor(bytes.byteLength / 2));
  for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(i * 2, true);
  return pcm;
}

/** Splits s16le bytes into chunks of `chunkMs` audio each (the last one shorter). */
export function chunkPcmBytes(bytes: Buffer, sampleRate: number, chunkMs: number): Buffer[] {
  const chunkBytes = Math.max(2, samplesFor(chunkMs, sampleRate) * 2);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) chunks.push(bytes.subarray(offset, offset + chunkBytes));
  return chunks;
}

/** The 44-byte RIFF/WAVE header for `dataBytes` of 16-bit mono PCM (streamed WAV sends it before the samples). */
export function wavHeader(dataBytes: number, sampleRate: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/** A whole WAV file of 16-bit mono PCM. */
export function wavFromPcm(pcm: Int16Array, sampleRate: number): Buffer {
  const data = pcmToBuffer(pcm);
  return Buffer.concat([wavHeader(data.length, sampleRate), data]);
}

/** Root mean square of samples, 0..32767: what energy-based VAD in the STT fakes and in tests measures. */
export function rms(pcm: Int16Array): number {
  if (pcm.length === 0) return 0;
  let sum = 0;
  for (const sample of pcm) sum += sample * sample;
  return Math.sqrt(sum / pcm.length);
}
