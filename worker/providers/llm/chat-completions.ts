// The OpenAI chat-completions stream, spoken by both OpenAI and Groq: our request → the vendor's body, the vendor's
// chunks → our events. Only the client and where usage arrives differ, and those stay in openai.ts / groq.ts.
import type { LlmEvent, LlmRequest, LlmUsage } from '../types.ts';
import { classifyingErrors, endedEarly, type SdkErrorClasses } from '../api-errors.ts';
import { CONTINUE_INSTRUCTION, continuationJoiner } from './continuation.ts';

interface TokenUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

/** The parts of a chat.completion.chunk we read (both SDKs' chunk types fit it). */
export interface ChatChunk {
  choices: ReadonlyArray<{ delta?: { content?: string | null } | null; finish_reason?: string | null }>;
  /** OpenAI, with stream_options.include_usage: on a last chunk of its own, with no choices. */
  usage?: TokenUsage | null;
  /** Groq: on the chunk carrying finish_reason. */
  x_groq?: { usage?: TokenUsage | null } | null;
}

export interface ChatMessageParam {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatBody {
  model: string;
  messages: ChatMessageParam[];
  stream: true;
  max_completion_tokens?: number;
  temperature?: number;
}

/** Without prefill support, a cut-off answer resumes as the model's own last turn plus a request to carry on. */
export function chatMessages(request: LlmRequest): ChatMessageParam[] {
  const messages: ChatMessageParam[] = [];
  if (request.system) messages.push({ role: 'system', content: request.system });
  for (const message of request.messages) messages.push({ role: message.role, content: message.text });
  const delivered = request.continueFrom?.trimEnd();
  if (delivered) {
    messages.push({ role: 'assistant', content: delivered }, { role: 'user', content: CONTINUE_INSTRUCTION });
  }
  return messages;
}

export function chatBody(model: string, request: LlmRequest): ChatBody {
  return {
    model,
    messages: chatMessages(request),
    stream: true,
    ...(request.maxTokens === undefined ? {} : { max_completion_tokens: request.maxTokens }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  };
}

/**
 * Text as it arrives, then one `end`. The SDKs swallow `data: [DONE]` and end quietly when the body is cut short,
 * so a finish_reason is the proof that the answer is complete; the end waits for the stream to close because
 * OpenAI's usage chunk comes after the finish_reason.
 */
export async function* chatEvents(provider: string, chunks: AsyncIterable<ChatChunk>, signal: AbortSignal, continueFrom?: string): AsyncGenerator<LlmEvent> {
  const join = continuationJoiner(continueFrom);
  let finishReason: string | undefined;
  let usage: LlmUsage | undefined;
  for await (const chunk of chunks) {
    // Chunks already buffered must not reach a caller who has given up.
    signal.throwIfAborted();
    const tokens = chunk.usage ?? chunk.x_groq?.usage;
    if (tokens) usage = { inputTokens: tokens.prompt_tokens, outputTokens: tokens.completion_tokens };
    const choice = chunk.choices[0];
    if (!choice) continue;
    const text = join(choice.delta?.content ?? '');
    if (text) yield { type: 'text', text };
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }
  if (finishReason === undefined) throw endedEarly(provider, signal, 'chat completion stream');
  yield { type: 'end', finishReason, ...(usage ? { usage } : {}) };
}

export interface ChatStreamOptions {
  provider: string;
  sdk: SdkErrorClasses;
  request: LlmRequest;
  signal: AbortSignal;
  /** Sends the request through the vendor's SDK (with `signal`); resolves to its chunk stream. */
  open(): PromiseLike<AsyncIterable<ChatChunk>>;
}

export function streamChatCompletion(options: ChatStreamOptions): AsyncGenerator<LlmEvent> {
  const { provider, sdk, request, signal } = options;
  async function* events(): AsyncGenerator<LlmEvent> {
    yield* chatEvents(provider, await options.open(), signal, request.continueFrom);
  }
  return classifyingErrors(provider, sdk, signal, events());
}
