// ElevenLabs text to speech as a TtsProvider, over the HTTP streaming endpoint with raw PCM output (pcm_24000 by
// default), one request per sentence on pooled keep-alive connections.
//
// Why not the stream-input WebSocket, whose {"isFinal":true} would make a truncated stream detectable: it closes
// after each generation, so a sentence per socket pays a fresh TCP+TLS+upgrade handshake (the HTTP request reuses a
// warm connection), and our sentences arrive whole, so its incremental-text latency gain does not apply. The price:
// a body that ends cleanly but early cannot be told from success; a socket that dies (which throws) or a body cut
// mid-sample can.
import { ElevenLabsClient, ElevenLabsError, ElevenLabsTimeoutError } from '@elevenlabs/elevenlabs-js';
import type { ElevenLabs } from '@elevenlabs/elevenlabs-js';
import { pcmFromByteStream } from '../../audio/pcm-bytes.ts';
import { ProviderError, classOfStatus, classifyTransportError, retryAfterMsFrom, truncated } from '../../fallback/errors.ts';
import type { TtsProvider, TtsRequest } from '../types.ts';
import { chunksOf } from '../web-stream.ts';

export const ELEVENLABS_SAMPLE_RATES = [16_000, 22_050, 24_000, 44_100, 48_000] as const;
export type ElevenLabsSampleRate = (typeof ELEVENLABS_SAMPLE_RATES)[number];

/** A premade voice every account has ("Rachel"). */
export const DEFAULT_ELEVENLABS_VOICE_ID = '21m00Tcm4TlvDq8ikWAM';
export const DEFAULT_ELEVENLABS_MODEL_ID = 'eleven_flash_v2_5';
const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_MESSAGE_CHARS = 300;

export interface ElevenLabsTtsOptions {
  apiKey: string;
  /** Origin only, e.g. http://127.0.0.1:8905 (ELEVENLABS_BASE_URL). The SDK's default when absent. */
  baseUrl?: string;
  voiceId?: string;
  modelId?: string;
  /** Of the PCM asked for and yielded (default 24000). */
  sampleRate?: ElevenLabsSampleRate;
  voiceSettings?: ElevenLabs.VoiceSettings;
  /** The SDK's own deadline, which only covers the wait for response headers: a backstop behind the engine's. */
  timeoutMs?: number;
}

export function createElevenLabsTts(options: ElevenLabsTtsOptions): TtsProvider {
  const client = new ElevenLabsClient({
    apiKey: options.apiKey,
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    maxRetries: 0,
    timeoutInSeconds: (options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000,
  });
  const sampleRate = options.sampleRate ?? 24_000;
  const outputFormat = `pcm_${sampleRate}` as ElevenLabs.TextToSpeechStreamRequestOutputFormat;

  async function* speak(request: TtsRequest, signal: AbortSignal): AsyncGenerator<Int16Array> {
    const body = await client.textToSpeech.stream(
      options.voiceId ?? DEFAULT_ELEVENLABS_VOICE_ID,
      {
        text: request.text,
        modelId: options.modelId ?? DEFAULT_ELEVENLABS_MODEL_ID,
        outputFormat,
        ...(request.previousText ? { previousText: request.previousText } : {}),
        ...(options.voiceSettings ? { voiceSettings: options.voiceSettings } : {}),
      },
      { abortSignal: signal, maxRetries: 0 },
    );
    const { endedMidSample } = yield* pcmFromByteStream(chunksOf(body));
    signal.throwIfAborted();
    if (endedMidSample) throw truncated('elevenlabs', 'speech audio (cut mid-sample)');
  }

  return {
    modality: 'tts',
    name: 'elevenlabs',
    sampleRate,
    async *synthesize(request: TtsRequest, signal: AbortSignal): AsyncGenerator<Int16Array> {
      try {
        yield* speak(request, signal);
      } catch (err) {
        // Our own abort surfaces as is (the SDK wraps it as "The user aborted a request"): the engine checks the signal.
        if (signal.aborted) throw err;
        throw classifyElevenLabsError(err);
      }
    },
    async warm(signal: AbortSignal): Promise<void> {
      await client.models.list({ abortSignal: signal, maxRetries: 0 });
    },
  };
}

export function classifyElevenLabsError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  // The SDK's timer aborts fetch with the bare string 'timeout' as the reason, which its own check for an AbortError
  // misses: the timeout then arrives as a status-less ElevenLabsError whose cause is that string.
  if (err instanceof ElevenLabsTimeoutError || (err instanceof ElevenLabsError && err.cause === 'timeout')) {
    return new ProviderError('elevenlabs', 'timeout', 'no response headers before the SDK timeout', { cause: err });
  }
  if (err instanceof ElevenLabsError && err.statusCode !== undefined) {
    const errorClass = classOfStatus(err.statusCode);
    const retryAfterMs = errorClass === 'transient' ? retryAfterMsFrom(err.rawResponse?.headers) : undefined;
    return new ProviderError('elevenlabs', errorClass, err.message.slice(0, MAX_MESSAGE_CHARS), {
      status: err.statusCode,
      cause: err,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  // No status: the request never got an answer (refused, reset), or the body died mid-stream (`TypeError: terminated`).
  return classifyTransportError('elevenlabs', err);
}
