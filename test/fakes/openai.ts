// Fake OpenAI: chat completions (streamed and whole), audio transcriptions (multipart) and audio speech (streamed PCM/WAV).
// Point the SDK at it with `new OpenAI({ apiKey, baseURL: fake.url + '/v1', maxRetries: 0 })`.
// Route names for faults: 'chat', 'transcriptions', 'speech', 'models' (GET /v1/models).
import { chatCompletionsRoute } from './chat-completions.ts';
import type { OpenAiStyleVendor } from './chat-completions.ts';
import { speechRoute, transcriptionsRoute } from './openai-audio.ts';
import { keyAccepted, schemeKey } from './kit/auth.ts';
import { modelsRoute } from './kit/models.ts';
import { vendorId } from './kit/ids.ts';
import type { ProfileInput } from './kit/profile.ts';
import { startFakeHttpServer } from './kit/server.ts';
import type { FakeServer, RequestContext } from './kit/server.ts';
import { sendJson } from './kit/stream.ts';

export type FakeOpenAiOptions = {
  /** Require exactly this key; otherwise any non-empty Bearer key is accepted. */
  apiKey?: string;
  port?: number;
  profile?: ProfileInput;
};

export type FakeOpenAI = FakeServer;

type OpenAiError = { message: string; type: string; param: string | null; code: string | null };

/** OpenAI's error envelope for a status, worded as the API words it. */
export function openAiErrorBody(status: number): { error: OpenAiError } {
  const error = (message: string, type: string, code: string | null = null): { error: OpenAiError } => ({
    error: { message, type, param: null, code },
  });
  if (status === 401) return error('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
  if (status === 403) return error('You are not allowed to sample from this model.', 'invalid_request_error', 'model_not_allowed');
  if (status === 404) return error('The model does not exist or you do not have access to it.', 'invalid_request_error', 'model_not_found');
  if (status === 429) return error('Rate limit reached for requests.', 'requests', 'rate_limit_exceeded');
  if (status >= 500) return error('The server had an error while processing your request. Sorry about that!', 'server_error');
  return error(`The request failed with status ${status}.`, 'invalid_request_error');
}

function baseHeaders(requestId: string): Record<string, string> {
  return { 'x-request-id': requestId, 'openai-version': '2020-10-01', 'openai-processing-ms': '1' };
}

function sendOpenAiError(ctx: RequestContext, status: number, retryAfterS?: number, body = openAiErrorBody(status)): void {
  const headers: Record<string, string> = baseHeaders(vendorId('req_', 16));
  if (status === 429) {
    headers['retry-after'] = String(retryAfterS ?? 1);
    headers['x-ratelimit-limit-requests'] = '500';
    headers['x-ratelimit-remaining-requests'] = '0';
    headers['x-ratelimit-reset-requests'] = `${retryAfterS ?? 1}s`;
  } else if (retryAfterS !== undefined) {
    headers['retry-after'] = String(retryAfterS);
  }
  sendJson(ctx.res, status, body, headers);
}

/** 400 invalid_request_error naming the offending parameter. */
export function sendOpenAiInvalidRequest(ctx: RequestContext, message: string, param: string | null): void {
  sendOpenAiError(ctx, 400, undefined, { error: { message, type: 'invalid_request_error', param, code: null } });
}

const OPENAI_MODELS = ['gpt-4.1-mini', 'gpt-4o-mini-tts', 'gpt-4o-mini-transcribe', 'whisper-1'];

/** GET /v1/models as OpenAI answers it. */
function openAiModelList() {
  return { object: 'list', data: OPENAI_MODELS.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'system' })) };
}

const openAiVendor: OpenAiStyleVendor = {
  errorBody: openAiErrorBody,
  responseHeaders: baseHeaders,
  invalidRequest: sendOpenAiInvalidRequest,
};

export function startFakeOpenAI(options: FakeOpenAiOptions = {}): Promise<FakeOpenAI> {
  return startFakeHttpServer({
    name: 'openai',
    port: options.port,
    profile: options.profile,
    routes: [
      chatCompletionsRoute('/v1/chat/completions', openAiVendor),
      transcriptionsRoute('/v1/audio/transcriptions', sendOpenAiInvalidRequest, baseHeaders),
      speechRoute('/v1/audio/speech', sendOpenAiInvalidRequest, baseHeaders),
      modelsRoute('/v1/models', openAiModelList, () => baseHeaders(vendorId('req_', 16))),
    ],
    authorize: (req) => keyAccepted(schemeKey(req.headers, 'Bearer'), options.apiKey),
    unauthorized: (ctx) => sendOpenAiError(ctx, 401),
    errorStatus: sendOpenAiError,
  });
}
