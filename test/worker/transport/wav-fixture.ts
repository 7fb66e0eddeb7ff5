// Input WAVs for the transport tests, written on the spot: any rate, mono or stereo, 16-bit PCM as the console takes.
import { writeFileSync } from 'node:fs';

/** Writes interleaved 16-bit PCM with a plain 44-byte header; every channel must have the same length. */
export function writeWav(path: string, channels: Int16Array[], sampleRate: number): string {
  const frames = channels[0]?.length ?? 0;
  const dataBytes = frames * channels.length * 2;
  const bytes = Buffer.alloc(44 + dataBytes);
  bytes.write('RIFF', 0, 'ascii');
  bytes.writeUInt32LE(36 + dataBytes, 4);
  bytes.write('WAVE', 8, 'ascii');
  bytes.write('fmt ', 12, 'ascii');
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20);
  bytes.writeUInt16LE(channels.length, 22);
  bytes.writeUInt32LE(sampleRate, 24);
  bytes.writeUInt32LE(sampleRate * channels.length * 2, 28);
  bytes.writeUInt16LE(channels.length * 2, 32);
  bytes.writeUInt16LE(16, 34);
  bytes.write('data', 36, 'ascii');
  bytes.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < frames; i++) {
    channels.forEach((channel, c) => bytes.writeInt16LE(channel[i]!, 44 + (i * channels.length + c) * 2));
  }
  writeFileSync(path, bytes);
  return path;
}

export function sine(frequencyHz: number, ms: number, sampleRate: number, amplitude = 8000): Int16Array {
  const pcm = new Int16Array(Math.round((ms * sampleRate) / 1000));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / sampleRate));
  return pcm;
}

/** Distinct, recognisable samples (never 0), so a misplaced or missing sample shows. */
export function ramp(samples: number, start = 1): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => ((start + i) % 30000) + 1);
}

export function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const sample of pcm) sum += sample * sample;
  return pcm.length === 0 ? 0 : Math.sqrt(sum / pcm.length);
}

/** Zero crossings per second: for a pure tone, twice its frequency. */
export function crossingsPerSecond(pcm: Int16Array, sampleRate: number): number {
  let crossings = 0;
  for (let i = 1; i < pcm.length; i++) if ((pcm[i - 1]! < 0) !== (pcm[i]! < 0)) crossings++;
  return (crossings * sampleRate) / pcm.length;
}
