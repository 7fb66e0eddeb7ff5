// The OpenAI chat-completions protocol, spoken by both the OpenAI and the Groq fakes (Groq serves the same body and
// stream under /openai/v1 and adds `x_groq` to its chunks). Streams SSE `data:` frames ending with `data: [DONE]`.
import { z } from 'zod';
import { vendorId } from './kit/ids.ts';
import { tokenIntervalMs, ttfbFor } from './kit/profile.ts';
import { lastUserText, splitIntoTokens } from './kit/script.ts';
import type { HttpRoute, RequestContext } from './kit/server.ts';
import { pause, sendBody, streamResponse } from './kit/stream.ts';

export type OpenAiStyleVendor = {
  /** Error envelope `{ error: {...} }` for a status, in this vendor's wording. */
  errorBody(status: number): { error: Record<string, unknown> };
  /** Headers every response of this vendor carries (request id…). */
  responseHeaders(requestId: string): Record<string, string>;
  /** Vendor extras merged into the first and the last stream chunk and the whole completion (Groq's x_groq). */
  extras?(when: 'first' | 'last' | 'completion', requestId: string, usage: Usage): Record<string, unknown>;
  /** The 400 answer for a malformed body. */
  invalidRequest(ctx: RequestContext, message: string, param: string | null): void;
};

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

const chatRequest = z.object({
  model: z.string().min(1),
  messages: z.array(z.object({ role: z.string() }).loose()).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  n: z.literal(1).nullish(),
});

/** A rough but deterministic token count of the prompt: word pieces of every message's text, plus 3 per message. */
function promptTokens(messages: Array<Record<string, unknown>>): number {
  return messages.reduce((sum, m) => sum + 3 + splitIntoTokens(lastUserText([{ ...m, role: 'user' }])).length, 0);
}

/** The SSE frame of one JSON event. */
export function sseData(event: unknown): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}

export function chatCompletionsRoute(path: string, vendor: OpenAiStyleVendor): HttpRoute {
  return {
    name: 'chat',
    method: 'POST',
    path,
    async handle(ctx) {
      let json: unknown;
      try {
        json = JSON.parse(ctx.body.toString('utf8'));
      } catch {
        return vendor.invalidRequest(ctx, 'We could not parse the JSON body of your request.', null);
      }
      const parsed = chatRequest.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const param = issue?.path.join('.') || null;
        return vendor.invalidRequest(ctx, `Invalid value for '${param ?? 'body'}': ${issue?.message ?? 'invalid'}`, param);
      }
      const request = parsed.data;
      const requestId = vendorId('req_', 16);
      const id = vendorId('chatcmpl-', 14);
      const created = Math.floor(Date.now() / 1000);
      const allTokens = splitIntoTokens(ctx.script.nextReply(lastUserText(request.messages)));
      const limit = request.max_completion_tokens ?? request.max_tokens ?? Infinity;
      const tokens = allTokens.slice(0, limit);
      const finishReason = tokens.length < allTokens.length ? 'length' : 'stop';
      const prompt = promptTokens(request.messages);
      const usage: Usage = { prompt_tokens: prompt, completion_tokens: tokens.length, total_tokens: prompt + tokens.length };
      const base = { id, created, model: request.model, system_fingerprint: 'fp_fake' };
      const headers = vendor.responseHeaders(requestId);

      if (!request.stream) {
        const completion = {
          ...base,
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: tokens.join(''), refusal: null, annotations: [] },
              logprobs: null,
              finish_reason: finishReason,
            },
          ],
          usage,
          ...vendor.extras?.('completion', requestId, usage),
        };
        const wait = ttfbFor(ctx.profile, ctx.requestIndex) + tokens.length * tokenIntervalMs(ctx.profile);
        if (!(await pause(wait, ctx.signal))) return;
        return sendBody(ctx, 200, { ...headers, 'content-type': 'application/json' }, JSON.stringify(completion));
      }

      const includeUsage = request.stream_options?.include_usage === true;
      const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
        sseData({ ...base, object: 'chat.completion.chunk', choices, ...(includeUsage ? { usage: null } : {}), ...extra });
      const choice = (delta: Record<string, unknown>, finish: string | null) => ({
        index: 0,
        delta,
        logprobs: null,
        finish_reason: finish,
      });
      const frames = [
        chunk([choice({ role: 'assistant', content: '', refusal: null }, null)], vendor.extras?.('first', requestId, usage)),
        ...tokens.map((token) => chunk([choice({ content: token }, null)])),
        chunk([choice({}, finishReason)], includeUsage ? {} : vendor.extras?.('last', requestId, usage)),
      ];
      if (includeUsage) frames.push(chunk([], { usage, ...vendor.extras?.('last', requestId, usage) }));

      await streamResponse(ctx, {
        headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
        chunks: frames,
        firstChunkDelayMs: ttfbFor(ctx.profile, ctx.requestIndex),
        intervalMs: tokenIntervalMs(ctx.profile),
        terminator: 'data: [DONE]\n\n',
        errorChunk: sseData({ error: vendor.errorBody(500).error }),
      });
    },
  };
}
