// One ElevenLabs stream-input (TTS over WebSocket) connection: buffers incoming text like the vendor (chunk length
// schedule, flush, auto_mode, end of input) and answers with base64 PCM messages carrying character alignment.
import type { WsOutbox } from '../ws-outbox.ts';
import { generationMessages, type AudioMessage } from './generation.ts';
import { voiceSettingsIssues } from './request.ts';
import { closeWithError, InactivityTimer, parseMessage } from './socket-rules.ts';
import { TextBuffer } from './text-buffer.ts';

export type StreamInputMessage =
  | AudioMessage
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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function firstMessageKey(message: Record<string, unknown>): string | undefined {
  for (const value of [message['xi-api-key'], message['xi_api_key']]) if (typeof value === 'string') return value;
  const authorization = message['authorization'];
  return typeof authorization === 'string' ? authorization.replace(/^Bearer\s+/i, '') : undefined;
}

export class StreamInputSession {
  readonly #config: StreamInputConfig;
  #initialized = false;
  #ended = false;
  readonly #buffer: TextBuffer;
  readonly #inactivity: InactivityTimer;

  constructor(config: StreamInputConfig) {
    this.#config = config;
    this.#buffer = new TextBuffer(config.autoMode);
    this.#inactivity = new InactivityTimer(config.outbox, config.inactivityTimeoutMs, (m) => this.#fail('input_timeout_exceeded', m));
    this.#inactivity.arm();
  }

  handleText(raw: string): void {
    if (this.#ended) return;
    this.#inactivity.arm();
    const message = parseMessage(raw);
    if (!isRecord(message)) return this.#fail('invalid_message', 'Messages must be JSON objects.');
    if (!this.#initialized) return this.#initialize(message);

    const { text, flush } = message;
    if (typeof text !== 'string') return this.#fail('invalid_message', 'Field "text" must be a string.');
    if (text === '') return this.#endOfInput();
    this.#buffer.push(text);
    if (flush === true) this.#generate(this.#buffer.takeAll());
    else this.#buffer.takeReady().forEach((piece) => this.#generate(piece));
  }

  /** Stops the timers (the connection is gone). */
  dispose(): void {
    this.#ended = true;
    this.#inactivity.clear();
  }

  #initialize(message: Record<string, unknown>): void {
    this.#initialized = true;
    const checkKey = this.#config.checkFirstMessageKey;
    if (checkKey && !checkKey(firstMessageKey(message))) return this.#fail('invalid_api_key', 'Invalid API key');
    const issues = voiceSettingsIssues(message['voice_settings'], ['voice_settings']);
    if (issues[0]) return this.#fail('invalid_request', `${issues[0].loc.join('.')}: ${issues[0].msg}`);
    const generationConfig = message['generation_config'];
    if (isRecord(generationConfig)) this.#buffer.setSchedule(generationConfig['chunk_length_schedule']);
    if (typeof message['text'] === 'string') this.#buffer.push(message['text'].trimStart()); // the opening " " is a marker
  }

  #endOfInput(): void {
    this.#generate(this.#buffer.takeAll());
    this.#ended = true;
    this.#inactivity.clear();
    this.#config.outbox.send({ isFinal: true });
    this.#config.outbox.close(1000);
  }

  #generate(text: string): void {
    const { outbox, sampleRate, chunkMs, firstAudioDelayMs, audioIntervalMs } = this.#config;
    generationMessages(text, sampleRate, chunkMs).forEach((message, i) => {
      outbox.send(message, i === 0 ? { latencyMs: firstAudioDelayMs } : { gapMs: audioIntervalMs });
    });
  }

  #fail(error: string, message: string): void {
    this.dispose();
    closeWithError(this.#config.outbox, error, message);
  }
}
