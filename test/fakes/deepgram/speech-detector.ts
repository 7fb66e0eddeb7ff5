// Finds utterances in streamed linear16 audio by energy, on AUDIO time (never wall time), as Deepgram does: an endpoint
// is "endpointing ms of silence in the audio", so the same bytes give the same events at any upload speed.

export type SpeechEvent =
  /** The first voiced frame after silence. */
  | { type: 'speechStart'; atMs: number }
  /** Every tickMs of audio while an utterance is open: the cadence of interim results. */
  | { type: 'speechTick'; atMs: number }
  /** endpointingMs of silence followed the last voiced frame (speechEndMs). */
  | { type: 'endpoint'; startMs: number; speechEndMs: number; atMs: number }
  /** utteranceEndMs of silence followed the last word of a finished utterance, and speech did not resume. */
  | { type: 'utteranceEnd'; lastWordEndMs: number; atMs: number };

export type SpeechDetectorConfig = {
  sampleRate: number;
  channels: number;
  endpointingMs: number;
  utteranceEndMs: number | null;
  tickMs: number;
  /** RMS of a 10 ms frame (int16 units) at or above which the frame counts as speech. */
  thresholdRms: number;
};

/** An utterance cut short by Finalize or CloseStream. */
export type OpenUtterance = { startMs: number; speechEndMs: number };

const FRAME_MS = 10;
const BYTES_PER_SAMPLE = 2;

export class SpeechDetector {
  readonly #config: SpeechDetectorConfig;
  readonly #frameBytes: number;
  readonly #frameDurationMs: number;
  #pending: Buffer = Buffer.alloc(0);
  #frames = 0;
  #utterance: { startMs: number; lastVoicedEndMs: number; lastTickMs: number } | null = null;
  #awaitingUtteranceEnd: number | null = null;

  constructor(config: SpeechDetectorConfig) {
    this.#config = config;
    const samplesPerFrame = Math.max(1, Math.round((config.sampleRate * FRAME_MS) / 1000));
    this.#frameBytes = samplesPerFrame * config.channels * BYTES_PER_SAMPLE;
    this.#frameDurationMs = (samplesPerFrame * 1000) / config.sampleRate;
  }

  /** Audio time analysed so far (whole frames only). */
  get audioMs(): number {
    return this.#frames * this.#frameDurationMs;
  }

  get inSpeech(): boolean {
    return this.#utterance !== null;
  }

  /** Feeds audio bytes (any split, even odd lengths) and returns what happened in them, in audio order. */
  push(bytes: Uint8Array): SpeechEvent[] {
    this.#pending = this.#pending.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.#pending, bytes]);
    const events: SpeechEvent[] = [];
    let offset = 0;
    while (this.#pending.length - offset >= this.#frameBytes) {
      this.#analyseFrame(this.#pending.subarray(offset, offset + this.#frameBytes), events);
      offset += this.#frameBytes;
    }
    this.#pending = this.#pending.subarray(offset);
    return events;
  }

  /** Closes the open utterance now (Finalize, CloseStream) and returns it; the utterance-end watch starts from it. */
  cut(): OpenUtterance | null {
    const utterance = this.#utterance;
    if (!utterance) return null;
    this.#utterance = null;
    this.#armUtteranceEnd(utterance.lastVoicedEndMs);
    return { startMs: utterance.startMs, speechEndMs: utterance.lastVoicedEndMs };
  }

  #analyseFrame(frame: Buffer, events: SpeechEvent[]): void {
    const startMs = this.audioMs;
    this.#frames += 1;
    const endMs = this.audioMs;
    const { endpointingMs, tickMs, thresholdRms } = this.#config;

    if (rms(frame) >= thresholdRms) {
      if (!this.#utterance) {
        this.#utterance = { startMs, lastVoicedEndMs: endMs, lastTickMs: startMs };
        this.#awaitingUtteranceEnd = null; // speech resumed inside the gap: still the same utterance for UtteranceEnd
        events.push({ type: 'speechStart', atMs: startMs });
      }
      this.#utterance.lastVoicedEndMs = endMs;
    } else if (this.#utterance && endMs - this.#utterance.lastVoicedEndMs >= endpointingMs) {
      const { startMs: utteranceStartMs, lastVoicedEndMs } = this.#utterance;
      this.#utterance = null;
      events.push({ type: 'endpoint', startMs: utteranceStartMs, speechEndMs: lastVoicedEndMs, atMs: endMs });
      this.#armUtteranceEnd(lastVoicedEndMs);
    }

    if (this.#utterance && endMs - this.#utterance.lastTickMs >= tickMs) {
      this.#utterance.lastTickMs = endMs;
      events.push({ type: 'speechTick', atMs: endMs });
    }

    const utteranceEndMs = this.#config.utteranceEndMs;
    if (this.#awaitingUtteranceEnd !== null && utteranceEndMs !== null && endMs - this.#awaitingUtteranceEnd >= utteranceEndMs) {
      events.push({ type: 'utteranceEnd', lastWordEndMs: this.#awaitingUtteranceEnd, atMs: endMs });
      this.#awaitingUtteranceEnd = null;
    }
  }

  #armUtteranceEnd(lastWordEndMs: number): void {
    if (this.#config.utteranceEndMs !== null) this.#awaitingUtteranceEnd = lastWordEndMs;
  }
}

/** Root mean square of interleaved little-endian int16 samples. */
export function rms(frame: Buffer): number {
  const samples = Math.floor(frame.length / BYTES_PER_SAMPLE);
  if (samples === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples; i++) {
    const sample = frame.readInt16LE(i * BYTES_PER_SAMPLE);
    sum += sample * sample;
  }
  return Math.sqrt(sum / samples);
}
