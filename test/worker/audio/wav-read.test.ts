// Reading caller audio from WAV: real files written by espeak-ng and sox in the shapes the console meets (mono and
// stereo, several rates, metadata chunks, WAVE_FORMAT_EXTENSIBLE) and every way a file can be wrong.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav, readWavFile, WavFormatError, type WavErrorCode } from '../../../worker/audio/wav-read.ts';
import { encodeWav } from '../../../worker/audio/wav.ts';
import { resample } from '../../../worker/audio/resample.ts';
import { AudioWorkbench, rms } from './audio-tools.ts';

let bench: AudioWorkbench;
beforeAll(() => {
  bench = new AudioWorkbench();
  bench.speak('speech.wav', 'Good morning, I would like to book a table for two.');
});
afterAll(() => bench?.remove());

/** A WAV built byte by byte, for the shapes sox will not write. */
function buildWav(options: {
  formatCode?: number;
  channels?: number;
  sampleRate?: number;
  bitsPerSample?: number;
  extensibleSubformat?: number;
  chunksBeforeData?: Array<[string, Uint8Array]>;
  chunksAfterData?: Array<[string, Uint8Array]>;
  data: Uint8Array;
  declaredDataBytes?: number;
}): Uint8Array {
  const channels = options.channels ?? 1;
  const bits = options.bitsPerSample ?? 16;
  const sampleRate = options.sampleRate ?? 16_000;
  const extensible = options.extensibleSubformat !== undefined;
  const fmt = new Uint8Array(extensible ? 40 : 16);
  const f = new DataView(fmt.buffer);
  f.setUint16(0, extensible ? 0xfffe : (options.formatCode ?? 1), true);
  f.setUint16(2, channels, true);
  f.setUint32(4, sampleRate, true);
  f.setUint32(8, (sampleRate * channels * bits) / 8, true);
  f.setUint16(12, (channels * bits) / 8, true);
  f.setUint16(14, bits, true);
  if (extensible) {
    f.setUint16(16, 22, true); // cbSize
    f.setUint16(18, bits, true); // valid bits
    f.setUint32(20, channels === 2 ? 0x3 : 0x4, true); // speaker mask
    f.setUint16(24, options.extensibleSubformat!, true); // first bytes of the subformat GUID
    fmt.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  const chunks: Array<[string, Uint8Array, number?]> = [
    ['fmt ', fmt],
    ...(options.chunksBeforeData ?? []),
    ['data', options.data, options.declaredDataBytes],
    ...(options.chunksAfterData ?? []),
  ];
  const parts: Uint8Array[] = [];
  for (const [id, body, declared] of chunks) {
    const header = new Uint8Array(8);
    header.set([...id].map((c) => c.charCodeAt(0)));
    new DataView(header.buffer).setUint32(4, declared ?? body.length, true);
    parts.push(header, body);
    if (body.length % 2 === 1) parts.push(new Uint8Array(1));
  }
  const length = 12 + parts.reduce((sum, part) => sum + part.length, 0);
  const wav = new Uint8Array(length);
  wav.set([...'RIFF'].map((c) => c.charCodeAt(0)), 0);
  new DataView(wav.buffer).setUint32(4, length - 8, true);
  wav.set([...'WAVE'].map((c) => c.charCodeAt(0)), 8);
  let offset = 12;
  for (const part of parts) {
    wav.set(part, offset);
    offset += part.length;
  }
  return wav;
}

function s16le(samples: number[]): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  samples.forEach((sample, i) => new DataView(bytes.buffer).setInt16(i * 2, sample, true));
  return bytes;
}

function expectWavError(bytes: Uint8Array, code: WavErrorCode, message: RegExp): void {
  let caught: unknown;
  try {
    decodeWav(bytes);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(WavFormatError);
  expect((caught as WavFormatError).code).toBe(code);
  expect((caught as WavFormatError).message).toMatch(message);
}

describe('reading WAV files', () => {
  it('reads espeak-ng speech: mono 16-bit at 22.05 kHz, every sample of the data chunk', async () => {
    const wav = await readWavFile(bench.path('speech.wav'));
    expect(wav.sampleRate).toBe(22_050);
    expect(wav.sourceChannels).toBe(1);
    expect(wav.pcm.length).toBe(Math.round(bench.durationSeconds('speech.wav') * 22_050));
    expect(rms(wav.pcm)).toBeGreaterThan(500); // speech, not silence
  });

  it('reads a stereo copy of a mono file (same rate) to exactly the mono samples', async () => {
    bench.sox('speech.wav', '-c', '2', 'speech-stereo-22k.wav');
    const mono = await readWavFile(bench.path('speech.wav'));
    const stereo = await readWavFile(bench.path('speech-stereo-22k.wav'));
    expect(stereo.sourceChannels).toBe(2);
    expect(stereo.sampleRate).toBe(22_050);
    expect(stereo.pcm).toEqual(mono.pcm);
  });

  it('reads stereo 48 kHz and mono 22.05 kHz versions of the same speech to the same mono content', async () => {
    bench.sox('speech.wav', '-r', '48000', '-c', '2', 'speech-stereo-48k.wav');
    const mono22k = await readWavFile(bench.path('speech.wav'));
    const stereo48k = await readWavFile(bench.path('speech-stereo-48k.wav'));
    expect(stereo48k).toMatchObject({ sampleRate: 48_000, sourceChannels: 2 });
    const back = resample(stereo48k.pcm, 48_000, 22_050);
    const length = Math.min(back.length, mono22k.pcm.length);
    expect(Math.abs(back.length - mono22k.pcm.length)).toBeLessThanOrEqual(2);
    const difference = new Int16Array(length).map((_, i) => back[i]! - mono22k.pcm[i]!);
    // Two band-limited resamplings in a row leave only a faint residue of the original.
    expect(rms(difference) / rms(mono22k.pcm)).toBeLessThan(0.05);
  });

  it('downmixes stereo by averaging the channels', () => {
    const wav = buildWav({ channels: 2, data: s16le([1000, 3000, -32768, -32768, 32767, -32768, 7, 0]) });
    expect(Array.from(decodeWav(wav).pcm)).toEqual([2000, -32768, 0, 4]); // 3.5 rounds to 4
  });

  it('skips LIST and other unknown chunks before and after the data, including odd-sized ones', () => {
    const list = new TextEncoder().encode('INFOISFT\u0005\u0000\u0000\u0000sox!'); // 17 bytes: padded to 18
    const wav = buildWav({
      sampleRate: 44_100,
      chunksBeforeData: [['LIST', list], ['fact', new Uint8Array(4)]],
      chunksAfterData: [['id3 ', new Uint8Array(9)]],
      data: s16le([1, -2, 3, -4]),
    });
    expect(decodeWav(wav)).toMatchObject({ sampleRate: 44_100, pcm: Int16Array.from([1, -2, 3, -4]) });
  });

  it('accepts WAVE_FORMAT_EXTENSIBLE with the PCM subformat', () => {
    const wav = buildWav({ channels: 2, sampleRate: 24_000, extensibleSubformat: 1, data: s16le([100, 300, -5, -7]) });
    expect(decodeWav(wav)).toMatchObject({ sampleRate: 24_000, sourceChannels: 2, pcm: Int16Array.from([200, -6]) });
  });

  it('reads a streamed WAV whose data size was left at 0xFFFFFFFF up to the end of the file', () => {
    const wav = buildWav({ data: s16le([5, 6, 7]), declaredDataBytes: 0xffffffff });
    expect(Array.from(decodeWav(wav).pcm)).toEqual([5, 6, 7]);
  });

  it('reads back what the worker\'s own WAV encoder writes', () => {
    const pcm = Int16Array.from({ length: 999 }, (_, i) => ((i * 7919) % 65536) - 32768);
    expect(decodeWav(encodeWav(pcm, 8_000))).toEqual({ pcm, sampleRate: 8_000, sourceChannels: 1 });
  });
});

describe('rejecting what is not 16-bit PCM WAV, with a typed error that says what is wrong', () => {
  it('not a RIFF file at all', () => {
    expectWavError(new TextEncoder().encode('ID3\u0004 this is an mp3, honest'), 'not_riff', /not a RIFF file/);
    expectWavError(new Uint8Array(5), 'not_riff', /too short/);
  });

  it('big-endian RIFX, and RIFF forms other than WAVE', () => {
    const rifx = buildWav({ data: s16le([1]) });
    rifx.set([0x52, 0x49, 0x46, 0x58], 0);
    expectWavError(rifx, 'not_riff', /RIFX/);
    const avi = buildWav({ data: s16le([1]) });
    avi.set([...'AVI '].map((c) => c.charCodeAt(0)), 8);
    expectWavError(avi, 'not_riff', /"AVI "/);
  });

  it('8-bit and 24-bit PCM (from sox) name their bit depth', () => {
    bench.sox('speech.wav', '-b', '8', 'speech-8bit.wav');
    bench.sox('speech.wav', '-b', '24', 'speech-24bit.wav');
    expectWavError(readFileSync(bench.path('speech-8bit.wav')), 'unsupported_bit_depth', /8-bit PCM/);
    expectWavError(readFileSync(bench.path('speech-24bit.wav')), 'unsupported_bit_depth', /24-bit PCM/);
    expectWavError(buildWav({ bitsPerSample: 32, data: new Uint8Array(8) }), 'unsupported_bit_depth', /32-bit PCM/);
  });

  it('float, µ-law and an extensible non-PCM subformat name the encoding', () => {
    bench.sox('speech.wav', '-e', 'floating-point', '-b', '32', 'speech-float.wav');
    bench.sox('speech.wav', '-e', 'u-law', 'speech-ulaw.wav');
    expectWavError(readFileSync(bench.path('speech-float.wav')), 'unsupported_encoding', /IEEE float/);
    expectWavError(readFileSync(bench.path('speech-ulaw.wav')), 'unsupported_encoding', /µ-law/);
    expectWavError(buildWav({ extensibleSubformat: 3, data: new Uint8Array(4) }), 'unsupported_encoding', /IEEE float/);
  });

  it('more than two channels (sox writes 4 channels as WAVE_FORMAT_EXTENSIBLE PCM)', () => {
    bench.sox('speech.wav', '-c', '4', 'speech-4ch.wav');
    expectWavError(readFileSync(bench.path('speech-4ch.wav')), 'unsupported_channels', /4 channels/);
  });

  it('a file cut short inside its data, mid-sample, or inside its header', () => {
    const whole = readFileSync(bench.path('speech.wav'));
    expectWavError(whole.subarray(0, 3000), 'truncated', /data chunk declares \d+ bytes but only \d+ remain/);
    writeFileSync(bench.path('speech-cut.wav'), whole.subarray(0, 30));
    expectWavError(readFileSync(bench.path('speech-cut.wav')), 'truncated', /fmt chunk declares 16 bytes but the file ends/);
    expectWavError(whole.subarray(0, 40), 'truncated', /ends inside a chunk, before any data chunk/);
    const stream = buildWav({ data: s16le([1, 2, 3]), declaredDataBytes: 0xffffffff });
    expectWavError(stream.subarray(0, stream.length - 1), 'truncated', /not a whole number of 2-byte sample frames/);
  });

  it('a header that contradicts itself, or no fmt or data chunk', () => {
    const wrongAlign = buildWav({ data: s16le([1, 2]) });
    new DataView(wrongAlign.buffer).setUint16(32, 4, true); // block align 4 for mono 16-bit
    expectWavError(wrongAlign, 'malformed', /block align 4/);
    expectWavError(buildWav({ sampleRate: 0, data: s16le([1]) }), 'malformed', /sample rate is 0/);
    const noData = buildWav({ data: s16le([1]) });
    noData.set([...'junk'].map((c) => c.charCodeAt(0)), 36);
    expectWavError(noData, 'missing_chunk', /no data chunk/);
  });
});
