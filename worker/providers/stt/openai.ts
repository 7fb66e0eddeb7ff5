// OpenAI transcription (gpt-4o-*-transcribe, whisper-1) as an SttProvider. The API takes a whole file, so nothing can
// be sent before the utterance ends: the audio is collected, wrapped in a WAV and uploaded, and the answer is one
// final result. The engine knows this from `streaming: false` and starts its deadlines at the end of the audio.
import { toFile } from 'openai';
import { encodeWav } from '../../audio/wav.ts';
import { truncated } from '../../fallback/errors.ts';
import { classifyingErrors } from '../api-errors.ts';
import { createOpenAiAudioClient, OPENAI_ERRORS, type OpenAiAudioClientOptions } from '../openai-audio-client.ts';
import type { SttEvent, SttProvider, SttRequest } from '../types.ts';
import type OpenAI from 'openai';

export const DEFAULT_OPENAI_STT_MODEL = 'gpt-4o-mini-transcribe';

export interface OpenAiSttOptions extends OpenAiAudioClientOptions {
  /** gpt-4o-mini-transcribe (default), gpt-4o-transcribe, whisper-1… */
  model?: string;
  /** Used when the request names no language; the API detects it when neither does. */
  language?: string;
}

export function createOpenAiStt(options: OpenAiSttOptions): SttProvider {
  const client = createOpenAiAudioClient(options);
  const model = options.model ?? DEFAULT_OPENAI_STT_MODEL;
  return {
    modality: 'stt',
    name: 'openai',
    streaming: false,
    transcribe(request: SttRequest, signal: AbortSignal): AsyncIterable<SttEvent> {
      const language = request.language ?? options.language;
      return classifyingErrors('openai', OPENAI_ERRORS, signal, transcribeWhole(client, model, language, request, signal));
    },
    async warm(_request, signal: AbortSignal): Promise<void> {
      await client.models.list({ signal });
    },
  };
}

async function* transcribeWhole(
  client: OpenAI,
  model: string,
  language: string | undefined,
  request: SttRequest,
  signal: AbortSignal,
): AsyncGenerator<SttEvent> {
  const pcm = await collect(request.audio, signal);
  signal.throwIfAborted();
  if (pcm.length === 0) return;
  const file = await toFile(encodeWav(pcm, request.sampleRate), 'utterance.wav', { type: 'audio/wav' });
  const result = await client.audio.transcriptions.create(
    { file, model, response_format: 'json', ...(language ? { language: isoLanguage(language) } : {}) },
    { signal },
  );
  // A JSON body cut to nothing comes back from the SDK as undefined rather than an error.
  if (typeof (result as { text?: unknown } | undefined)?.text !== 'string') throw truncated('openai', 'transcription response');
  const text = result.text.trim();
  if (text) yield { type: 'final', text, speechFinal: true };
}

async function collect(audio: AsyncIterable<Int16Array>, signal: AbortSignal): Promise<Int16Array> {
  const frames: Int16Array[] = [];
  let samples = 0;
  for await (const frame of audio) {
    if (signal.aborted) break;
    frames.push(frame);
    samples += frame.length;
  }
  const pcm = new Int16Array(samples);
  let offset = 0;
  for (const frame of frames) {
    pcm.set(frame, offset);
    offset += frame.length;
  }
  return pcm;
}

/** The API wants ISO-639-1 ('en'); callers may hold a locale ('en-US'), which Deepgram takes as is. */
function isoLanguage(language: string): string {
  return (language.split(/[-_]/)[0] ?? language).toLowerCase();
}
