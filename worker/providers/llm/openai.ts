// OpenAI chat completions as an LlmProvider. The stream mapping is shared with Groq (chat-completions.ts); what is
// OpenAI's own: the client, and asking for usage, which arrives in a chunk of its own after the finish_reason.
import OpenAI from 'openai';
import type { LlmEvent, LlmProvider, LlmRequest } from '../types.ts';
import { DEFAULT_SDK_TIMEOUT_MS, type SdkErrorClasses } from '../api-errors.ts';
import { chatBody, streamChatCompletion } from './chat-completions.ts';

export interface OpenAiLlmOptions {
  apiKey: string;
  /** Includes /v1, e.g. http://127.0.0.1:8901/v1. The SDK's default (api.openai.com) when absent. */
  baseUrl?: string;
  model: string;
  /** The SDK's own deadline, which only covers the wait for response headers: a backstop behind the engine's. */
  timeoutMs?: number;
}

const OPENAI_ERRORS: SdkErrorClasses = {
  APIError: OpenAI.APIError,
  APIConnectionError: OpenAI.APIConnectionError,
  APIConnectionTimeoutError: OpenAI.APIConnectionTimeoutError,
  APIUserAbortError: OpenAI.APIUserAbortError,
};

export function createOpenAiLlm(options: OpenAiLlmOptions): LlmProvider {
  const client = new OpenAI({
    apiKey: options.apiKey,
    // null, not undefined: undefined would let the SDK read OPENAI_BASE_URL from the environment behind our back.
    baseURL: options.baseUrl ?? null,
    maxRetries: 0,
    timeout: options.timeoutMs ?? DEFAULT_SDK_TIMEOUT_MS,
  });
  return {
    modality: 'llm',
    name: 'openai',
    model: options.model,
    stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent> {
      return streamChatCompletion({
        provider: 'openai',
        sdk: OPENAI_ERRORS,
        request,
        signal,
        open: () =>
          client.chat.completions.create({ ...chatBody(options.model, request), stream_options: { include_usage: true } }, { signal }),
      });
    },
    async warm(signal: AbortSignal): Promise<void> {
      await client.models.list({ signal });
    },
  };
}
