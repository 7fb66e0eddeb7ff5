// OpenAI speech (gpt-4o-mini-tts, tts-1…) as a TtsProvider: response_format 'pcm' is raw 24 kHz s16le mono, streamed
// as it is generated. The raw stream has no terminator: a body that ends cleanly but early cannot be told from a
// complete one (only a body cut mid-sample, or a socket that dies, which throws, gives it away).
import type OpenAI from 'openai';
import { pcmFromByteStream } from '../../audio/pcm-bytes.ts';
import { truncated } from '../../fallback/errors.ts';
import { classifyingErrors } from '../api-errors.ts';
import { createOpenAiAudioClient, OPENAI_ERRORS, type OpenAiAudioClientOptions } from '../openai-audio-client.ts';
import type { TtsProvider, TtsRequest } from '../types.ts';
import { chunksOf } from '../web-stream.ts';

/** What response_format 'pcm' always is. */
export const OPENAI_TTS_SAMPLE_RATE = 24_000;
export const DEFAULT_OPENAI_TTS_MODEL = 'gpt-4o-mini-tts';
export const DEFAULT_OPENAI_TTS_VOICE = 'alloy';

export interface OpenAiTtsOptions extends OpenAiAudioClientOptions {
  model?: string;
  voice?: string;
  /** How to speak (gpt-4o-mini-tts only), e.g. "Warm and brief." */
  instructions?: string;
  speed?: number;
}

export function createOpenAiTts(options: OpenAiTtsOptions): TtsProvider {
  const client = createOpenAiAudioClient(options);
  return {
    modality: 'tts',
    name: 'openai',
    sampleRate: OPENAI_TTS_SAMPLE_RATE,
    synthesize(request: TtsRequest, signal: AbortSignal): AsyncIterable<Int16Array> {
      return classifyingErrors('openai', OPENAI_ERRORS, signal, speak(client, options, request, signal));
    },
    async warm(signal: AbortSignal): Promise<void> {
      await client.models.list({ signal });
    },
  };
}

async function* speak(client: OpenAI, options: OpenAiTtsOptions, request: TtsRequest, signal: AbortSignal): AsyncGenerator<Int16Array> {
  const response = await client.audio.speech.create(
    {
      model: options.model ?? DEFAULT_OPENAI_TTS_MODEL,
      voice: options.voice ?? DEFAULT_OPENAI_TTS_VOICE,
      input: request.text,
      response_format: 'pcm',
      ...(options.instructions ? { instructions: options.instructions } : {}),
      ...(options.speed !== undefined ? { speed: options.speed } : {}),
    },
    { signal },
  );
  if (!response.body) throw truncated('openai', 'speech response without a body');
  const { endedMidSample } = yield* pcmFromByteStream(chunksOf(response.body));
  signal.throwIfAborted();
  if (endedMidSample) throw truncated('openai', 'speech audio (cut mid-sample)');
}
