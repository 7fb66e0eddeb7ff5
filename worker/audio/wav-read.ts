// Reads a 16-bit PCM WAV file (what the console takes as a caller's audio) into mono samples. Our own small parser
// rather than `wavefile`: that library has had no release since 2020, silently accepts a data chunk cut short, and
// answers anything unusual with one generic message, where a caller needs to be told exactly what is wrong.
import { readFile } from 'node:fs/promises';

export type WavErrorCode =
  | 'not_riff' // not a RIFF/WAVE container at all (or a big-endian RIFX / RF64 one)
  | 'missing_chunk' // no fmt or no data chunk
  | 'unsupported_encoding' // float, A-law, µ-law, ADPCM…
  | 'unsupported_bit_depth' // 8, 24 or 32-bit integer PCM
  | 'unsupported_channels' // more than two channels
  | 'malformed' // a header whose fields contradict each other
  | 'truncated'; // the file ends before what its headers promise

export class WavFormatError extends Error {
  readonly code: WavErrorCode;
  constructor(code: WavErrorCode, message: string) {
    super(`WAV: ${message}`);
    this.name = 'WavFormatError';
    this.code = code;
  }
}

export interface DecodedWav {
  /** Mono samples (stereo is averaged) at `sampleRate`. */
  pcm: Int16Array;
  sampleRate: number;
  /** How many channels the file had before the downmix. */
  sourceChannels: number;
}

interface PcmFormat {
  channels: number;
  sampleRate: number;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
const ENCODING_NAMES: Record<number, string> = { 3: 'IEEE float', 6: 'A-law', 7: 'µ-law', 2: 'MS ADPCM', 0x11: 'IMA ADPCM' };
// Streaming writers (ffmpeg to a pipe, some recorders) leave the data size at its maximum: it means "to the end".
const UNKNOWN_DATA_SIZE = 0xffffffff;

export async function readWavFile(path: string): Promise<DecodedWav> {
  return decodeWav(await readFile(path));
}

export function decodeWav(bytes: Uint8Array): DecodedWav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12) throw new WavFormatError('not_riff', `only ${bytes.length} bytes, too short for a RIFF header`);
  const container = fourCC(bytes, 0);
  if (container !== 'RIFF') {
    const why = container === 'RIFX' ? 'big-endian RIFX is not supported' : container === 'RF64' ? 'RF64 is not supported' : 'not a RIFF file';
    throw new WavFormatError('not_riff', `${why} (starts with ${JSON.stringify(container)})`);
  }
  if (fourCC(bytes, 8) !== 'WAVE') throw new WavFormatError('not_riff', `RIFF form is ${JSON.stringify(fourCC(bytes, 8))}, not "WAVE"`);

  let format: PcmFormat | undefined;
  let data: { offset: number; length: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length && !(format && data)) {
    const id = fourCC(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (body + size > bytes.length) throw new WavFormatError('truncated', `fmt chunk declares ${size} bytes but the file ends first`);
      format = parseFormat(view, body, size);
    } else if (id === 'data') {
      const available = bytes.length - body;
      if (size !== UNKNOWN_DATA_SIZE && size > available) {
        throw new WavFormatError('truncated', `data chunk declares ${size} bytes but only ${available} remain`);
      }
      data = { offset: body, length: size === UNKNOWN_DATA_SIZE ? available : size };
    }
    // Anything else (LIST, fact, cue, bext…) is metadata we do not need. Chunks are padded to an even length.
    offset = body + size + (size % 2);
  }
  // Bytes left over that cannot hold a chunk header, or a chunk running past the end, mean the file was cut.
  const cut = offset !== bytes.length;
  if (!format) throw missingChunk('fmt', cut);
  if (!data) throw missingChunk('data', cut);

  const frameBytes = format.channels * 2;
  if (data.length % frameBytes !== 0) {
    const runsToEnd = data.offset + data.length === bytes.length;
    throw new WavFormatError(
      runsToEnd ? 'truncated' : 'malformed',
      `data chunk of ${data.length} bytes is not a whole number of ${frameBytes}-byte sample frames`,
    );
  }
  const pcm = downmix(view, data.offset, data.length / frameBytes, format.channels);
  return { pcm, sampleRate: format.sampleRate, sourceChannels: format.channels };
}

function missingChunk(name: string, fileWasCut: boolean): WavFormatError {
  if (fileWasCut) return new WavFormatError('truncated', `the file ends inside a chunk, before any ${name} chunk`);
  return new WavFormatError('missing_chunk', `no ${name} chunk`);
}

function parseFormat(view: DataView, at: number, size: number): PcmFormat {
  if (size < 16) throw new WavFormatError('malformed', `fmt chunk is ${size} bytes, needs at least 16`);
  let encoding = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bitsPerSample = view.getUint16(at + 14, true);
  if (encoding === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40) throw new WavFormatError('malformed', `WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, needs 40`);
    // The subformat GUID begins with the plain format code (KSDATAFORMAT_SUBTYPE_PCM starts with 0x0001).
    encoding = view.getUint16(at + 24, true);
  }
  if (encoding !== WAVE_FORMAT_PCM) {
    const name = ENCODING_NAMES[encoding] ?? `format code 0x${encoding.toString(16).padStart(4, '0')}`;
    throw new WavFormatError('unsupported_encoding', `${name} audio is not supported; convert to 16-bit PCM`);
  }
  if (bitsPerSample !== 16) {
    throw new WavFormatError('unsupported_bit_depth', `${bitsPerSample}-bit PCM is not supported; convert to 16-bit PCM`);
  }
  if (channels < 1 || channels > 2) throw new WavFormatError('unsupported_channels', `${channels} channels; only mono or stereo`);
  if (sampleRate === 0) throw new WavFormatError('malformed', 'sample rate is 0');
  if (blockAlign !== channels * 2) {
    throw new WavFormatError('malformed', `block align ${blockAlign} does not match ${channels} channel(s) of 16-bit samples`);
  }
  return { channels, sampleRate };
}

function downmix(view: DataView, offset: number, frames: number, channels: number): Int16Array {
  const pcm = new Int16Array(frames);
  if (channels === 1) {
    for (let i = 0; i < frames; i++) pcm[i] = view.getInt16(offset + i * 2, true);
    return pcm;
  }
  for (let i = 0; i < frames; i++) {
    const left = view.getInt16(offset + i * 4, true);
    const right = view.getInt16(offset + i * 4 + 2, true);
    // Averaging cannot overflow, and keeps identical channels bit-exact.
    pcm[i] = Math.round((left + right) / 2);
  }
  return pcm;
}

function fourCC(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);
}
