// The OpenAI client as the audio adapters (transcription, speech) build it: retries off, a backstop timeout, and the
// SDK's error classes for the shared classification in api-errors.ts.
import OpenAI from 'openai';
import { DEFAULT_SDK_TIMEOUT_MS, type SdkErrorClasses } from './api-errors.ts';

export interface OpenAiAudioClientOptions {
  apiKey: string;
  /** Includes /v1, e.g. http://127.0.0.1:8901/v1. The SDK's default (api.openai.com) when absent. */
  baseUrl?: string;
  /** The SDK's own deadline, which only covers the wait for response headers: a backstop behind the engine's. */
  timeoutMs?: number;
}

export const OPENAI_ERRORS: SdkErrorClasses = {
  APIError: OpenAI.APIError,
  APIConnectionError: OpenAI.APIConnectionError,
  APIConnectionTimeoutError: OpenAI.APIConnectionTimeoutError,
  APIUserAbortError: OpenAI.APIUserAbortError,
};

export function createOpenAiAudioClient(options: OpenAiAudioClientOptions): OpenAI {
  return new OpenAI({
    apiKey: options.apiKey,
    // null, not undefined: undefined would let the SDK read OPENAI_BASE_URL from the environment behind our back.
    baseURL: options.baseUrl ?? null,
    maxRetries: 0,
    timeout: options.timeoutMs ?? DEFAULT_SDK_TIMEOUT_MS,
  });
}
