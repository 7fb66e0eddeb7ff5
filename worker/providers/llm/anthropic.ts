// Anthropic messages as an LlmProvider. Anthropic's own ways: every stream event is named, the answer is complete
// only at message_stop, usage is split between message_start and message_delta, max_tokens is mandatory, and a cut
// answer resumes by prefill: the delivered text as a final assistant turn that the model simply carries on.
import Anthropic from '@anthropic-ai/sdk';
import type { LlmEvent, LlmProvider, LlmRequest, LlmUsage } from '../types.ts';
import { DEFAULT_SDK_TIMEOUT_MS, classifyingErrors, endedEarly, type SdkErrorClasses } from '../api-errors.ts';
import { continuationJoiner } from './continuation.ts';

export interface AnthropicLlmOptions {
  apiKey: string;
  /** The bare origin (the SDK adds /v1/messages). The SDK's default (api.anthropic.com) when absent. */
  baseUrl?: string;
  model: string;
  /** Anthropic requires a ceiling; used when the request does not give one. */
  defaultMaxTokens?: number;
  /** The SDK's own deadline, which only covers the wait for response headers: a backstop behind the engine's. */
  timeoutMs?: number;
}

// A spoken answer is short; this only guards against a runaway one.
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 1024;

const ANTHROPIC_ERRORS: SdkErrorClasses = {
  APIError: Anthropic.APIError,
  APIConnectionError: Anthropic.APIConnectionError,
  APIConnectionTimeoutError: Anthropic.APIConnectionTimeoutError,
  APIUserAbortError: Anthropic.APIUserAbortError,
};

// Anthropic's stop reasons in the words the other providers use, so the agent reads one vocabulary.
const FINISH_REASONS: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length' };

type MessageParam = Anthropic.MessageParam;

/** The API rejects a prefill that ends in whitespace; continuationJoiner puts the dropped whitespace back right. */
export function anthropicMessages(request: LlmRequest): MessageParam[] {
  const messages: MessageParam[] = request.messages.map((m) => ({ role: m.role, content: m.text }));
  const prefill = request.continueFrom?.trimEnd();
  if (prefill) messages.push({ role: 'assistant', content: prefill });
  return messages;
}

export function createAnthropicLlm(options: AnthropicLlmOptions): LlmProvider {
  const client = new Anthropic({
    apiKey: options.apiKey,
    // null, not undefined: undefined would let the SDK read ANTHROPIC_BASE_URL from the environment behind our back.
    baseURL: options.baseUrl ?? null,
    maxRetries: 0,
    timeout: options.timeoutMs ?? DEFAULT_SDK_TIMEOUT_MS,
  });

  async function* events(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    const stream = await client.messages.create(
      {
        model: options.model,
        max_tokens: request.maxTokens ?? options.defaultMaxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
        ...(request.system ? { system: request.system } : {}),
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        messages: anthropicMessages(request),
        stream: true,
      },
      { signal },
    );
    const join = continuationJoiner(request.continueFrom);
    const usage: LlmUsage = {};
    let stopReason = 'stop';
    let stopped = false;
    // Read to the end of the body even after message_stop, so the connection closes cleanly rather than by abort.
    for await (const event of stream) {
      // Events already buffered must not reach a caller who has given up.
      signal.throwIfAborted();
      if (event.type === 'message_start') {
        usage.inputTokens = event.message.usage.input_tokens;
        usage.outputTokens = event.message.usage.output_tokens;
      } else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        const text = join(event.delta.text);
        if (text) yield { type: 'text', text };
      } else if (event.type === 'message_delta') {
        if (event.delta.stop_reason) stopReason = FINISH_REASONS[event.delta.stop_reason] ?? event.delta.stop_reason;
        usage.outputTokens = event.usage.output_tokens;
        if (typeof event.usage.input_tokens === 'number') usage.inputTokens = event.usage.input_tokens;
      } else if (event.type === 'message_stop') {
        stopped = true;
      }
    }
    if (!stopped) throw endedEarly('anthropic', signal, 'message stream');
    yield { type: 'end', finishReason: stopReason, usage };
  }

  return {
    modality: 'llm',
    name: 'anthropic',
    model: options.model,
    stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent> {
      return classifyingErrors('anthropic', ANTHROPIC_ERRORS, signal, events(request, signal));
    },
    async warm(signal: AbortSignal): Promise<void> {
      await client.models.list({ limit: 1 }, { signal });
    },
  };
}
