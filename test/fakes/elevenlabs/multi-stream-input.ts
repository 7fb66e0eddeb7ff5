// One ElevenLabs multi-stream-input connection (GET /v1/text-to-speech/{voice}/multi-stream-input): several speech
// contexts over one socket, each named by the client's context_id, as the LiveKit Agents and Pipecat ElevenLabs plugins
// use it. Per context: the first message ({"text":" ", voice_settings?, generation_config?}) opens it; text is buffered
// and spoken by the same rules as stream-input (flush, auto_mode, chunk schedule); {"text":""} without flush only keeps
// it alive; {"flush":true} (text optional) speaks what is buffered; {"close_context":true} drops unflushed text, lets
// what was already triggered play out, then sends {"isFinal":true,"contextId"}; {"close_socket":true} ends the
// connection (close 1000) after what is in flight. Every server message names its context as `contextId`.
// At most 5 open contexts (the vendor's limit: a 6th gets max_active_conversations and close 1008).
// The fake voices contexts one after another on the connection (the vendor generates them side by side).
import type { WsOutbox } from '../ws-outbox.ts';
import { generationMessages, type AudioMessage } from './generation.ts';
import { voiceSettingsIssues } from './request.ts';
import { firstMessageKey, isRecord } from './stream-input.ts';
import { closeWithError, InactivityTimer, parseMessage } from './socket-rules.ts';
import { TextBuffer } from './text-buffer.ts';

export type MultiStreamMessage =
  | (AudioMessage & { contextId: string })
  | { isFinal: true; contextId: string }
  | { message: string; error: string; code: number; contextId?: string };

export type MultiStreamConfig = {
  outbox: WsOutbox<MultiStreamMessage>;
  sampleRate: number;
  chunkMs: number;
  firstAudioDelayMs: number;
  audioIntervalMs: number;
  inactivityTimeoutMs: number;
  autoMode: boolean;
  checkFirstMessageKey: ((key: string | undefined) => boolean) | undefined;
  /** Told of every generation (its text and audio chunks); the function it returns is called per chunk sent. */
  onGeneration?: (contextId: string, text: string, chunks: number) => () => void;
};

export const MAX_CONTEXTS = 5;
/** The context a message without context_id addresses. */
const DEFAULT_CONTEXT = 'default';

export class MultiStreamInputSession {
  readonly #config: MultiStreamConfig;
  readonly #contexts = new Map<string, TextBuffer>();
  #keyChecked = false;
  #ended = false;
  readonly #inactivity: InactivityTimer;

  constructor(config: MultiStreamConfig) {
    this.#config = config;
    this.#inactivity = new InactivityTimer(config.outbox, config.inactivityTimeoutMs, (m) => this.#fail('input_timeout_exceeded', m));
    this.#inactivity.arm();
  }

  /** Context ids open now (for tests). */
  get openContexts(): string[] {
    return [...this.#contexts.keys()];
  }

  handleText(raw: string): void {
    if (this.#ended) return;
    this.#inactivity.arm();
    const message = parseMessage(raw);
    if (!isRecord(message)) return this.#fail('invalid_message', 'Messages must be JSON objects.');
    if (!this.#keyChecked) {
      this.#keyChecked = true;
      const checkKey = this.#config.checkFirstMessageKey;
      if (checkKey && !checkKey(firstMessageKey(message))) return this.#fail('invalid_api_key', 'Invalid API key');
    }
    if (message['close_socket'] === true) return this.#closeSocket();
    const contextId = typeof message['context_id'] === 'string' ? message['context_id'] : DEFAULT_CONTEXT;
    const { text, flush } = message;
    if (text !== undefined && typeof text !== 'string') return this.#fail('invalid_message', 'Field "text" must be a string.');
    if (message['close_context'] === true) return this.#closeContext(contextId);
    // A context-less keep-alive ({"text":""}) touches nothing.
    if (message['context_id'] === undefined && text === '' && flush !== true) return;

    let buffer = this.#contexts.get(contextId);
    if (!buffer) {
      if (this.#contexts.size >= MAX_CONTEXTS) {
        return this.#fail(
          'max_active_conversations',
          `Maximum simultaneous contexts per WebSocket connection exceeded (${MAX_CONTEXTS}). Please close an existing context before opening a new one.`,
        );
      }
      const issues = voiceSettingsIssues(message['voice_settings'], ['voice_settings']);
      if (issues[0]) return this.#fail('invalid_request', `${issues[0].loc.join('.')}: ${issues[0].msg}`);
      buffer = new TextBuffer(this.#config.autoMode);
      const generationConfig = message['generation_config'];
      if (isRecord(generationConfig)) buffer.setSchedule(generationConfig['chunk_length_schedule']);
      this.#contexts.set(contextId, buffer);
      if (typeof text === 'string') buffer.push(text.trimStart()); // the opening " " is a marker
    } else if (typeof text === 'string') {
      buffer.push(text);
    }
    if (flush === true) this.#generate(contextId, buffer.takeAll());
    else buffer.takeReady().forEach((piece) => this.#generate(contextId, piece));
  }

  dispose(): void {
    this.#ended = true;
    this.#inactivity.clear();
  }

  #closeContext(contextId: string): void {
    if (!this.#contexts.delete(contextId)) return;
    // Queued after the context's audio: isFinal arrives right after its last byte.
    this.#config.outbox.send({ isFinal: true, contextId });
  }

  #closeSocket(): void {
    this.#contexts.clear();
    this.dispose();
    this.#config.outbox.close(1000);
  }

  #generate(contextId: string, text: string): void {
    const { outbox, sampleRate, chunkMs, firstAudioDelayMs, audioIntervalMs } = this.#config;
    const messages = generationMessages(text, sampleRate, chunkMs);
    const onSent = messages.length > 0 ? this.#config.onGeneration?.(contextId, text, messages.length) : undefined;
    messages.forEach((message, i) => {
      const pace = i === 0 ? { latencyMs: firstAudioDelayMs } : { gapMs: audioIntervalMs };
      outbox.send({ ...message, contextId }, onSent ? { ...pace, onSent } : pace);
    });
  }

  #fail(error: string, message: string): void {
    this.dispose();
    closeWithError(this.#config.outbox, error, message);
  }
}
