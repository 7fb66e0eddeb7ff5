// Fake ElevenLabs text to speech, faithful enough that @elevenlabs/elevenlabs-js 2.x cannot tell:
// - POST /v1/text-to-speech/{voice}/stream?output_format=pcm_<rate> (route 'tts'): chunked raw s16le PCM from kit/audio.ts;
//   `new ElevenLabsClient({ apiKey, baseUrl: fake.url, maxRetries: 0 })` then `textToSpeech.stream(voice, {...})`.
// - GET /v1/text-to-speech/{voice}/stream-input (route 'tts-ws'): the WebSocket no SDK wraps (use `ws`): base64 audio
//   messages with alignment, {"isFinal":true} and close 1000 after {"text":""}, input_timeout_exceeded + close 1008.
// - GET /v1/text-to-speech/{voice}/multi-stream-input (route 'tts-multi-ws'): several contexts over one socket, the
//   endpoint the LiveKit Agents and Pipecat plugins use (see elevenlabs/multi-stream-input.ts).
// - GET /v1/models (route 'models'): the model list, the worker's warm-up request.
// Auth is the xi-api-key header (or, on the websocket, the first message's xi-api-key). Faults: see test/fakes/README.md.
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { chunkPcmBytes, pcmFromText, pcmToBuffer } from './kit/audio.ts';
import { headerValue, keyAccepted } from './kit/auth.ts';
import { modelsRoute } from './kit/models.ts';
import { audioChunkIntervalMs, ttfbFor, type ProfileInput } from './kit/profile.ts';
import { rejectUpgrade, startFakeHttpServer, type FakeServer, type RequestContext, type UpgradeContext } from './kit/server.ts';
import { sendJson, streamResponse } from './kit/stream.ts';
import { WsOutbox } from './ws-outbox.ts';
import { invalidKeyBody, missingKeyBody, statusBody, validationBody } from './elevenlabs/errors.ts';
import { parseOutputFormat, parseSpeechBody } from './elevenlabs/request.ts';
import { MultiStreamInputSession, type MultiStreamMessage } from './elevenlabs/multi-stream-input.ts';
import { StreamInputSession, type StreamInputMessage } from './elevenlabs/stream-input.ts';

export type FakeElevenLabsOptions = {
  /** Fixed port (npm run fakes); a free one when absent. */
  port?: number;
  /** Require exactly this key; any non-empty key passes when absent. */
  apiKey?: string;
  profile?: ProfileInput;
  /** stream-input inactivity timeout when the client sends no inactivity_timeout (the vendor's default is 20 s). */
  inactivityTimeoutMs?: number;
};

/**
 * One piece of text the fake was asked to speak, in order: what a benchmark compares with what the caller heard.
 * `sentChunks` grows as its audio goes out; fewer than `chunks` means the stream was cut (or the client left) first.
 */
export type Synthesis = { atMs: number; route: string; contextId?: string; text: string; chunks: number; sentChunks: number; chunkMs: number };

export type FakeElevenLabs = FakeServer & { syntheses: Synthesis[] };

export const TTS_ROUTE = 'tts';
export const TTS_WS_ROUTE = 'tts-ws';
export const TTS_MULTI_WS_ROUTE = 'tts-multi-ws';
const DEFAULT_INACTIVITY_TIMEOUT_MS = 20_000;
const KEY_IN_MESSAGE = /("(?:xi-api-key|xi_api_key|authorization)"\s*:\s*)"[^"]*"/g;
const SPEECH_PATH = /^\/v1\/text-to-speech\/(?<voice>[^/]+)\/stream$/;
const STREAM_INPUT_PATH = /^\/v1\/text-to-speech\/(?<voice>[^/]+)\/stream-input$/;
const MULTI_STREAM_INPUT_PATH = /^\/v1\/text-to-speech\/(?<voice>[^/]+)\/multi-stream-input$/;

function toText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as Buffer).toString('utf8');
}

async function streamSpeech(ctx: RequestContext, syntheses: Synthesis[]): Promise<void> {
  const format = parseOutputFormat(ctx.url.searchParams);
  if (!format.ok) {
    if (format.status === 422) return sendJson(ctx.res, 422, validationBody([format.issue]));
    return sendJson(ctx.res, 400, { detail: { status: 'invalid_output_format', message: format.message } });
  }
  const parsed = parseSpeechBody(ctx.body);
  if (!parsed.ok) return sendJson(ctx.res, 422, validationBody(parsed.issues));
  const { text } = parsed.request;
  const audio = pcmToBuffer(pcmFromText(text, format.sampleRate));
  const chunks = chunkPcmBytes(audio, format.sampleRate, ctx.profile.chunkMs);
  const synthesis: Synthesis = { atMs: Date.now(), route: TTS_ROUTE, text, chunks: chunks.length, sentChunks: 0, chunkMs: ctx.profile.chunkMs };
  syntheses.push(synthesis);
  await streamResponse(ctx, {
    headers: {
      'content-type': 'audio/pcm',
      'request-id': randomUUID(),
      'character-cost': String(text.length),
    },
    chunks,
    onChunkSent: () => (synthesis.sentChunks += 1),
    firstChunkDelayMs: ttfbFor(ctx.profile, ctx.requestIndex),
    intervalMs: audioChunkIntervalMs(ctx.profile),
  });
}

/** GET /v1/models (route 'models') as ElevenLabs answers it: a bare array of models. */
function elevenLabsModels() {
  const model = (modelId: string, name: string) => ({
    model_id: modelId, name, can_do_text_to_speech: true, can_do_voice_conversion: false, can_use_style: false,
    can_use_speaker_boost: true, serves_pro_voices: false, token_cost_factor: 0.5, requires_alpha_access: false,
    maximum_text_length_per_request: 40_000, languages: [{ language_id: 'en', name: 'English' }],
  });
  return [model('eleven_flash_v2_5', 'Eleven Flash v2.5'), model('eleven_multilingual_v2', 'Eleven Multilingual v2')];
}

export async function startFakeElevenLabs(options: FakeElevenLabsOptions = {}): Promise<FakeElevenLabs> {
  const wss = new WebSocketServer({ noServer: true });
  const syntheses: Synthesis[] = [];

  /** Both WebSockets: the same handshake checks, outbox and request log; `multi` picks the session. */
  function acceptStreamInput(ctx: UpgradeContext, multi: boolean): void {
    const { req, socket, head, record, fault, url, profile } = ctx;
    const refuse = (status: number, body: unknown) => {
      record.status = status;
      rejectUpgrade(socket, status, { 'content-type': 'application/json' }, JSON.stringify(body));
    };
    if (fault?.kind === 'rejectHandshake' || fault?.kind === 'status') return refuse(fault.status, statusBody(fault.status));
    const headerKey = headerValue(req.headers, 'xi-api-key');
    if (headerKey !== undefined && !keyAccepted(headerKey, options.apiKey)) return refuse(401, invalidKeyBody());
    const format = parseOutputFormat(url.searchParams);
    if (!format.ok) {
      if (format.status === 422) return refuse(422, validationBody([format.issue]));
      return refuse(400, { detail: { status: 'invalid_output_format', message: format.message } });
    }
    const inactivityS = Number(url.searchParams.get('inactivity_timeout'));
    const inactivityTimeoutMs =
      inactivityS > 0 ? inactivityS * 1000 : (options.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_TIMEOUT_MS);

    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      record.status = 101;
      const outbox = new WsOutbox<StreamInputMessage | MultiStreamMessage>({
        socket: ws,
        fault,
        isChunk: (message) => 'audio' in message,
        failMidStream: (s) => {
          s.send(JSON.stringify({ message: 'An internal server error occurred.', error: 'internal_server_error', code: 1011 }));
          s.close(1011, 'internal_server_error');
        },
        onFault: (applied) => {
          if (applied.kind === 'destroyAfter') record.serverDestroyed = true;
        },
      });
      const route = multi ? TTS_MULTI_WS_ROUTE : TTS_WS_ROUTE;
      const untrack = ctx.faults.track(route, outbox);
      const settings = {
        onGeneration: (contextId: string, text: string, chunks: number) => {
          const synthesis: Synthesis = { atMs: Date.now(), route, contextId, text, chunks, sentChunks: 0, chunkMs: profile.chunkMs };
          syntheses.push(synthesis);
          return () => void (synthesis.sentChunks += 1);
        },
        outbox,
        sampleRate: format.sampleRate,
        chunkMs: profile.chunkMs,
        firstAudioDelayMs: ttfbFor(profile, ctx.requestIndex),
        audioIntervalMs: audioChunkIntervalMs(profile),
        inactivityTimeoutMs,
        autoMode: url.searchParams.get('auto_mode') === 'true',
        checkFirstMessageKey: headerKey === undefined ? (key: string | undefined) => keyAccepted(key, options.apiKey) : undefined,
      };
      const session = multi ? new MultiStreamInputSession(settings) : new StreamInputSession(settings);
      ws.on('message', (data) => {
        const text = toText(data);
        // The request log keeps what the client sent, one message per line, with any key masked.
        record.bodyBytes += Buffer.byteLength(text);
        record.bodyText = `${record.bodyText ?? ''}${text.replace(KEY_IN_MESSAGE, '$1"***"')}\n`;
        session.handleText(text);
      });
      ws.on('close', () => {
        untrack();
        session.dispose();
        if (outbox.endedByServer) record.finished = !record.serverDestroyed;
        else record.clientAborted = true;
      });
    });
  }

  const fake = await startFakeHttpServer({
    name: 'elevenlabs',
    port: options.port,
    routes: [{ name: TTS_ROUTE, method: 'POST', path: SPEECH_PATH, handle: (ctx) => streamSpeech(ctx, syntheses) }, modelsRoute('/v1/models', elevenLabsModels)],
    upgrades: [
      { name: TTS_WS_ROUTE, path: STREAM_INPUT_PATH, handle: (ctx) => acceptStreamInput(ctx, false) },
      { name: TTS_MULTI_WS_ROUTE, path: MULTI_STREAM_INPUT_PATH, handle: (ctx) => acceptStreamInput(ctx, true) },
    ],
    authorize: (req) => keyAccepted(headerValue(req.headers, 'xi-api-key'), options.apiKey),
    unauthorized: ({ req, res }) =>
      sendJson(res, 401, headerValue(req.headers, 'xi-api-key') ? invalidKeyBody() : missingKeyBody()),
    errorStatus: ({ res }, status, retryAfterS) =>
      sendJson(res, status, statusBody(status), retryAfterS === undefined ? {} : { 'retry-after': String(retryAfterS) }),
    profile: options.profile,
    onReset: () => void (syntheses.length = 0),
    onClose: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  });
  return Object.assign(fake, { syntheses });
}
