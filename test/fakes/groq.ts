// Fake Groq: OpenAI's chat-completions protocol under /openai/v1, with `x_groq` on the first and last chunks and
// Groq's error envelope (no `param`). Point the SDK at it with `new Groq({ apiKey, baseURL: fake.url, maxRetries: 0 })`
// (the SDK adds /openai/v1 itself). Route names for faults: 'chat', 'models' (GET /openai/v1/models).
import { chatCompletionsRoute } from './chat-completions.ts';
import type { OpenAiStyleVendor, Usage } from './chat-completions.ts';
import { keyAccepted, schemeKey } from './kit/auth.ts';
import { modelsRoute } from './kit/models.ts';
import { vendorId } from './kit/ids.ts';
import type { ProfileInput } from './kit/profile.ts';
import { startFakeHttpServer } from './kit/server.ts';
import type { FakeServer, RequestContext } from './kit/server.ts';
import { sendJson } from './kit/stream.ts';

export type FakeGroqOptions = {
  /** Require exactly this key; otherwise any non-empty Bearer key is accepted. */
  apiKey?: string;
  port?: number;
  profile?: ProfileInput;
};

export type FakeGroq = FakeServer;

type GroqError = { message: string; type: string; code?: string };

/** Groq's error envelope for a status. */
export function groqErrorBody(status: number): { error: GroqError } {
  if (status === 401) return { error: { message: 'Invalid API Key', type: 'invalid_request_error', code: 'invalid_api_key' } };
  if (status === 404) return { error: { message: 'The model does not exist or you do not have access to it.', type: 'invalid_request_error', code: 'model_not_found' } };
  if (status === 429) {
    return {
      error: {
        message: 'Rate limit reached for model on tokens per minute (TPM).',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    };
  }
  if (status >= 500) return { error: { message: 'Internal Server Error', type: 'internal_server_error' } };
  return { error: { message: `The request failed with status ${status}.`, type: 'invalid_request_error' } };
}

function responseHeaders(requestId: string): Record<string, string> {
  return { 'x-request-id': requestId, 'x-groq-region': 'fake-1' };
}

function sendGroqError(ctx: RequestContext, status: number, retryAfterS?: number, body: { error: GroqError } = groqErrorBody(status)): void {
  const headers = responseHeaders(vendorId('req_', 13));
  if (status === 429 || retryAfterS !== undefined) headers['retry-after'] = String(retryAfterS ?? 1);
  if (status === 429) {
    Object.assign(headers, {
      'x-ratelimit-limit-requests': '14400',
      'x-ratelimit-limit-tokens': '6000',
      'x-ratelimit-remaining-requests': '14399',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-requests': '6s',
      'x-ratelimit-reset-tokens': `${retryAfterS ?? 1}s`,
    });
  }
  sendJson(ctx.res, status, body, headers);
}

/** Groq's usage carries timings besides the token counts. */
function groqUsage(usage: Usage) {
  return { ...usage, queue_time: 0.01, prompt_time: 0.001, completion_time: 0.01, total_time: 0.021 };
}

/** GET /openai/v1/models as Groq answers it: OpenAI's list plus Groq's own fields. */
function groqModelList() {
  const model = (id: string, owner: string) => ({ id, object: 'model', created: 1_700_000_000, owned_by: owner, active: true, context_window: 131_072, public_apps: null });
  return { object: 'list', data: [model('llama-3.3-70b-versatile', 'Meta'), model('llama-3.1-8b-instant', 'Meta')] };
}

const groqVendor: OpenAiStyleVendor = {
  errorBody: groqErrorBody,
  responseHeaders,
  extras(when, requestId, usage) {
    if (when === 'first') return { x_groq: { id: requestId } };
    return when === 'last' ? { x_groq: { id: requestId, usage: groqUsage(usage) } } : { usage: groqUsage(usage) };
  },
  invalidRequest: (ctx, message) => sendGroqError(ctx, 400, undefined, { error: { message, type: 'invalid_request_error' } }),
};

export function startFakeGroq(options: FakeGroqOptions = {}): Promise<FakeGroq> {
  return startFakeHttpServer({
    name: 'groq',
    port: options.port,
    profile: options.profile,
    routes: [chatCompletionsRoute('/openai/v1/chat/completions', groqVendor), modelsRoute('/openai/v1/models', groqModelList, () => responseHeaders(vendorId('req_', 13)))],
    authorize: (req) => keyAccepted(schemeKey(req.headers, 'Bearer'), options.apiKey),
    unauthorized: (ctx) => sendGroqError(ctx, 401),
    errorStatus: (ctx, status, retryAfterS) => sendGroqError(ctx, status, retryAfterS),
  });
}
