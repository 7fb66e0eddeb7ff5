// Fake Anthropic: POST /v1/messages, streamed (named SSE events, ping, message_delta usage, in-stream error) or whole.
// Point the SDK at it with `new Anthropic({ apiKey, baseURL: fake.url, maxRetries: 0 })`. Route names for faults: 'messages',
// 'models' (GET /v1/models).
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { headerValue, keyAccepted, schemeKey } from './kit/auth.ts';
import { vendorId } from './kit/ids.ts';
import { modelsRoute } from './kit/models.ts';
import type { ProfileInput } from './kit/profile.ts';
import { tokenIntervalMs, ttfbFor } from './kit/profile.ts';
import { lastUserText, splitIntoTokens } from './kit/script.ts';
import { startFakeHttpServer } from './kit/server.ts';
import type { FakeServer, HttpRoute, RequestContext } from './kit/server.ts';
import { pause, sendBody, sendJson, streamResponse } from './kit/stream.ts';

export type FakeAnthropicOptions = {
  /** Require exactly this key (as x-api-key or Bearer); otherwise any non-empty key is accepted. */
  apiKey?: string;
  port?: number;
  profile?: ProfileInput;
};

export type FakeAnthropic = FakeServer;

const ERROR_TYPES: Record<number, [type: string, message: string]> = {
  400: ['invalid_request_error', 'Invalid request.'],
  401: ['authentication_error', 'invalid x-api-key'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
  500: ['api_error', 'Internal server error'],
  529: ['overloaded_error', 'Overloaded'],
};

/** Anthropic's error envelope: `{ type: 'error', error: { type, message }, request_id }`. */
export function anthropicErrorBody(status: number, requestId: string, message?: string) {
  const [type, defaultMessage] = ERROR_TYPES[status] ?? (status >= 500 ? ERROR_TYPES[500]! : ERROR_TYPES[400]!);
  return { type: 'error', error: { type, message: message ?? defaultMessage }, request_id: requestId };
}

function sendAnthropicError(ctx: RequestContext, status: number, retryAfterS?: number, message?: string): void {
  const requestId = vendorId('req_', 12);
  const headers: Record<string, string> = { 'request-id': requestId };
  if (status === 429 || retryAfterS !== undefined) headers['retry-after'] = String(retryAfterS ?? 1);
  if (status === 429) headers['anthropic-ratelimit-requests-remaining'] = '0';
  sendJson(ctx.res, status, anthropicErrorBody(status, requestId, message), headers);
}

function presentedKey(req: IncomingMessage): string | undefined {
  return headerValue(req.headers, 'x-api-key') ?? schemeKey(req.headers, 'Bearer');
}

const messagesRequest = z.object({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.unknown() })).min(1),
  system: z.unknown().optional(),
  stream: z.boolean().optional(),
});

/** One named SSE event: the SDK skips frames without an `event:` line. */
function sseEvent(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

const messagesRoute: HttpRoute = {
  name: 'messages',
  method: 'POST',
  path: '/v1/messages',
  async handle(ctx) {
    if (!headerValue(ctx.req.headers, 'anthropic-version')) {
      return sendAnthropicError(ctx, 400, undefined, 'anthropic-version: header is required');
    }
    let parsed;
    try {
      parsed = messagesRequest.safeParse(JSON.parse(ctx.body.toString('utf8')));
    } catch {
      return sendAnthropicError(ctx, 400, undefined, 'There was an issue with the format of your request: invalid JSON');
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return sendAnthropicError(ctx, 400, undefined, `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
    }
    const request = parsed.data;
    const allTokens = splitIntoTokens(ctx.script.nextReply(lastUserText(request.messages)));
    const tokens = allTokens.slice(0, request.max_tokens);
    const stopReason = tokens.length < allTokens.length ? 'max_tokens' : 'end_turn';
    const inputTokens = request.messages.reduce((n, m) => n + 3 + splitIntoTokens(lastUserText([{ ...m, role: 'user' }])).length, 0);
    const id = vendorId('msg_', 12);
    const headers = { 'request-id': vendorId('req_', 12) };

    if (!request.stream) {
      const wait = ttfbFor(ctx.profile, ctx.requestIndex) + tokens.length * tokenIntervalMs(ctx.profile);
      if (!(await pause(wait, ctx.signal))) return;
      const message = {
        id, type: 'message', role: 'assistant', model: request.model,
        content: [{ type: 'text', text: tokens.join('') }],
        stop_reason: stopReason, stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: tokens.length },
      };
      return sendBody(ctx, 200, { ...headers, 'content-type': 'application/json' }, JSON.stringify(message));
    }

    const frames = [
      sseEvent('message_start', {
        message: {
          id, type: 'message', role: 'assistant', content: [], model: request.model,
          stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 },
        },
      }),
      sseEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      sseEvent('ping', {}),
      ...tokens.map((text) => sseEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })),
      sseEvent('content_block_stop', { index: 0 }),
      sseEvent('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: tokens.length } }),
    ];
    await streamResponse(ctx, {
      headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
      chunks: frames,
      firstChunkDelayMs: ttfbFor(ctx.profile, ctx.requestIndex),
      intervalMs: tokenIntervalMs(ctx.profile),
      terminator: sseEvent('message_stop', {}),
      errorChunk: sseEvent('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }),
    });
  },
};

/** GET /v1/models as Anthropic answers it: a page of models, newest first. */
function anthropicModelList() {
  const data = [
    { type: 'model', id: 'claude-haiku-4-5', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
    { type: 'model', id: 'claude-sonnet-4-5', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
  ];
  return { data, has_more: false, first_id: data[0]!.id, last_id: data.at(-1)!.id };
}

export function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  return startFakeHttpServer({
    name: 'anthropic',
    port: options.port,
    profile: options.profile,
    routes: [messagesRoute, modelsRoute('/v1/models', anthropicModelList, () => ({ 'request-id': vendorId('req_', 12) }))],
    authorize: (req) => keyAccepted(presentedKey(req), options.apiKey),
    unauthorized: (ctx) => sendAnthropicError(ctx, 401),
    errorStatus: (ctx, status, retryAfterS) => sendAnthropicError(ctx, status, retryAfterS),
  });
}
