// The Deepgram adapter's settings: what an operator may set, the defaults behind them, and the /v1/listen query a
// socket opens with.
import type { ListenArgs } from './deepgram-socket.ts';

export interface DeepgramSttOptions {
  apiKey: string;
  /** Origin only, e.g. http://127.0.0.1:8904 (DEEPGRAM_BASE_URL); the SDK turns it into ws:// + /v1/listen. */
  baseUrl?: string;
  model?: string;
  /** Used when the request names none; Deepgram's default (English) when neither does. */
  language?: string;
  /** Silence after which Deepgram marks a final speech_final. */
  endpointingMs?: number;
  /** Silence after the last word before an UtteranceEnd (Deepgram's minimum is 1000). */
  utteranceEndMs?: number;
  smartFormat?: boolean;
  /** KeepAlive cadence on a quiet socket; keep it under half of Deepgram's ~10 s idle limit. */
  keepAliveIntervalMs?: number;
  /**
   * How long the end's Finalize may go unanswered. With nothing pending the utterance then ends; with words pending a
   * CloseStream asks for them instead (always answered), so a Deepgram that ignores Finalize loses no words.
   */
  finalizeGraceMs?: number;
  /** The SDK's handshake deadline: a backstop behind the engine's. */
  connectTimeoutMs?: number;
  /** How a flush while the audio goes on asks for the words: see the header. */
  flush?: DeepgramFlush;
  /** 'auto' saw a Finalize go unanswered and flushes with CloseStream from now on (once; for the operator's log). */
  onFlushSwitched?: () => void;
}

export type DeepgramFlush = 'auto' | 'finalize' | 'closeStream';

export const DEFAULT_DEEPGRAM_MODEL = 'nova-3';
const DEFAULTS = {
  endpointingMs: 300,
  utteranceEndMs: 1000,
  keepAliveIntervalMs: 3_000,
  finalizeGraceMs: 500,
  connectTimeoutMs: 10_000,
  flush: 'auto' as DeepgramFlush,
};

export type DeepgramSettings = typeof DEFAULTS;

/** The options over the defaults (an option left undefined keeps its default). */
export function deepgramSettings(options: DeepgramSttOptions): DeepgramSettings {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<DeepgramSettings>;
  return { ...DEFAULTS, ...given };
}

export function listenArgs(options: DeepgramSttOptions, settings: DeepgramSettings, sampleRate: number, language: string | undefined): ListenArgs {
  return {
    model: options.model ?? DEFAULT_DEEPGRAM_MODEL,
    encoding: 'linear16',
    sample_rate: sampleRate,
    channels: 1,
    interim_results: 'true',
    endpointing: settings.endpointingMs,
    utterance_end_ms: settings.utteranceEndMs,
    vad_events: 'true',
    smart_format: options.smartFormat === false ? 'false' : 'true',
    ...(language ? { language } : {}),
    reconnectAttempts: 0,
    shouldReconnect: () => false,
    connectionTimeoutInSeconds: settings.connectTimeoutMs / 1000,
  };
}
