// One ElevenLabs stream-input (TTS over WebSocket) connection: buffers incoming text like the vendor (chunk length
// schedule, flush, auto_mode, end of input) and answers with base64 PCM messages carrying character alignment.
import { chunkPcmBytes, pcmFromText, pcmToBuffer } from '../kit/audio.ts';
import type { WsOutbox } from '../ws-outbox.ts';
import { alignmentFor, type Alignment } from './alignment.ts';
import { voiceSettingsIssues } from './request.ts';

export type StreamInputMessage =
  | { audio: string; isFinal: null; normalizedAlignment: Alignment | null; alignment: Alignment | null }
  | { isFinal: true }
  | { message: string; error: string; code: number };

export type StreamInputConfig = {
  outbox: WsOutbox<StreamInputMessage>;
  sampleRate: number;
  chunkMs: number;
  /** Time from a generation being triggered to its first audio message. */
  firstAudioDelayMs: number;
  /** Pause between two audio messages of one generation. */
  audioIntervalMs: number;
  /** Closing after this long without a text message (while nothing is being spoken). */
  inactivityTimeoutMs: number;
  /** auto_mode=true: generate at sentence ends instead of following the chunk length schedule. */
  autoMode: boolean;
  /** Set when the handshake carried no key: the first message must then bring one (xi-api-key or authorization). */
  checkFirstMessageKey: ((key: string | undefined) => boolean) | undefined;
};

const DEFAULT_SCHEDULE = [120, 160, 250, 290];
const SENTENCE_END = /[.!?]["')\]]*\s/g;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstMessageKey(message: Record<string, unknown>): string | undefined {
  for (const value of [message['xi-api-key'], message['xi_api_key']]) if (typeof value === 'string') return value;
  const authorization = message['authorization'];
  return typeof authorization === 'string' ? authorization.replace(/^Bearer\s+/i, '') : undefined;
}

export class StreamInputSession {
  readonly #config: StreamInputConfig;
  #initialized = false;
  #ended = false;
  #buffer = '';
  #schedule = DEFAULT_SCHEDULE;
  #scheduleIndex = 0;
  #inactivityTimer: NodeJS.Timeout | undefined;

  constructor(config: StreamInputConfig) {
    this.#config = config;
    this.#armInactivityTimer();
  }

  handleText(raw: string): void {
    if (this.#ended) return;
    this.#armInactivityTimer();
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      message = undefined;
    }
    if (!isRecord(message)) return this.#fail('invalid_message', 'Messages must be JSON objects.');
    if (!this.#initialized) return this.#initialize(message);

    const { text, flush } = message;
    if (typeof text !== 'string') return this.#fail('invalid_message', 'Field "text" must be a string.');
    if (text === '') return this.#endOfInput();
    this.#buffer += text;
    if (flush === true) this.#generate(this.#takeAll());
    else this.#generateReadyText();
  }

  /** Stops the timers (the connection is gone). */
  dispose(): void {
    this.#ended = true;
    clearTimeout(this.#inactivityTimer);
  }

  #initialize(message: Record<string, unknown>): void {
    this.#initialized = true;
    const checkKey = this.#config.checkFirstMessageKey;
    if (checkKey && !checkKey(firstMessageKey(message))) return this.#fail('invalid_api_key', 'Invalid API key');
    const issues = voiceSettingsIssues(message['voice_settings'], ['voice_settings']);
    if (issues[0]) return this.#fail('invalid_request', `${issues[0].loc.join('.')}: ${issues[0].msg}`);
    const generationConfig = message['generation_config'];
    const schedule = isRecord(generationConfig) ? generationConfig['chunk_length_schedule'] : undefined;
    if (Array.isArray(schedule) && schedule.length > 0 && schedule.every((n) => typeof n === 'number' && n > 0)) {
      this.#schedule = schedule as number[];
    }
    if (typeof message['text'] === 'string') this.#buffer += message['text'].trimStart(); // the opening " " is a marker
  }

  /** Text the vendor would speak now without a flush: whole sentences (auto_mode) or the schedule's next length. */
  #generateReadyText(): void {
    if (this.#config.autoMode) {
      const ends = [...this.#buffer.matchAll(SENTENCE_END)];
      const last = ends.at(-1);
      if (last) this.#generate(this.#take(last.index + last[0].length));
      return;
    }
    for (;;) {
      const threshold = this.#schedule[Math.min(this.#scheduleIndex, this.#schedule.length - 1)] ?? Infinity;
      const wordEnd = this.#buffer.lastIndexOf(' ') + 1; // never cut a word in half
      if (this.#buffer.length < threshold || wordEnd === 0) return;
      this.#scheduleIndex += 1;
      this.#generate(this.#take(wordEnd));
    }
  }

  #endOfInput(): void {
    this.#generate(this.#takeAll());
    this.#ended = true;
    clearTimeout(this.#inactivityTimer);
    this.#config.outbox.send({ isFinal: true });
    this.#config.outbox.close(1000);
  }

  #generate(text: string): void {
    if (text.trim() === '') return;
    const { outbox, sampleRate, chunkMs, firstAudioDelayMs, audioIntervalMs } = this.#config;
    const chunks = chunkPcmBytes(pcmToBuffer(pcmFromText(text, sampleRate)), sampleRate, chunkMs);
    const alignment = alignmentFor(text);
    chunks.forEach((chunk, i) => {
      // The vendor aligns the whole generation in its first audio message; the rest carry null.
      const timing = i === 0 ? alignment : null;
      const message = { audio: chunk.toString('base64'), isFinal: null, normalizedAlignment: timing, alignment: timing };
      outbox.send(message, i === 0 ? { latencyMs: firstAudioDelayMs } : { gapMs: audioIntervalMs });
    });
  }

  #take(length: number): string {
    const taken = this.#buffer.slice(0, length);
    this.#buffer = this.#buffer.slice(length);
    return taken;
  }

  #takeAll(): string {
    return this.#take(this.#buffer.length);
  }

  #fail(error: string, message: string): void {
    this.dispose();
    this.#config.outbox.send({ message, error, code: 1008 });
    this.#config.outbox.close(1008, message.slice(0, 120));
  }

  #armInactivityTimer(): void {
    clearTimeout(this.#inactivityTimer);
    const timeoutMs = this.#config.inactivityTimeoutMs;
    this.#inactivityTimer = setTimeout(() => {
      // Speaking is not idling: the clock only runs out once everything queued has gone out.
      if (this.#config.outbox.pending > 0) return this.#armInactivityTimer();
      const seconds = Math.round(timeoutMs / 100) / 10;
      this.#fail('input_timeout_exceeded', `Have not received new text for ${seconds} seconds. Closing the connection.`);
    }, timeoutMs);
  }
}
