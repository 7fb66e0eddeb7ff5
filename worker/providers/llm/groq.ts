// Groq as an LlmProvider: the OpenAI chat-completions stream (chat-completions.ts) through groq-sdk. What is Groq's
// own: the SDK adds /openai/v1 to the base URL itself, and usage arrives in `x_groq.usage` on the last chunk.
import Groq from 'groq-sdk';
import type { LlmEvent, LlmProvider, LlmRequest } from '../types.ts';
import { DEFAULT_SDK_TIMEOUT_MS, type SdkErrorClasses } from '../api-errors.ts';
import { chatBody, streamChatCompletion } from './chat-completions.ts';

export interface GroqLlmOptions {
  apiKey: string;
  /** The bare origin (http://127.0.0.1:8903); a trailing /openai/v1, as OpenAI-client examples write it, is tolerated. */
  baseUrl?: string;
  model: string;
  /** The SDK's own deadline, which only covers the wait for response headers: a backstop behind the engine's. */
  timeoutMs?: number;
}

const GROQ_ERRORS: SdkErrorClasses = {
  APIError: Groq.APIError,
  APIConnectionError: Groq.APIConnectionError,
  APIConnectionTimeoutError: Groq.APIConnectionTimeoutError,
  APIUserAbortError: Groq.APIUserAbortError,
};

export function createGroqLlm(options: GroqLlmOptions): LlmProvider {
  const client = new Groq({
    apiKey: options.apiKey,
    // null, not undefined: undefined would let the SDK read GROQ_BASE_URL from the environment behind our back.
    baseURL: options.baseUrl?.replace(/\/openai\/v1\/?$/, '') ?? null,
    maxRetries: 0,
    timeout: options.timeoutMs ?? DEFAULT_SDK_TIMEOUT_MS,
  });
  return {
    modality: 'llm',
    name: 'groq',
    model: options.model,
    stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent> {
      return streamChatCompletion({
        provider: 'groq',
        sdk: GROQ_ERRORS,
        request,
        signal,
        open: () => client.chat.completions.create(chatBody(options.model, request), { signal }),
      });
    },
    async warm(signal: AbortSignal): Promise<void> {
      await client.models.list({ signal });
    },
  };
}
