// Fake Deepgram live transcription: WebSocket GET /v1/listen, faithful enough that @deepgram/sdk 5.x cannot tell.
// Point the SDK at it with `new DeepgramClient({ apiKey, baseUrl: fake.url })` (the SDK turns http into ws and appends
// /v1/listen) and connect with `reconnectAttempts: 0`. Transcripts come from fake.script (one per utterance); utterances
// are found by energy in the linear16 audio, on audio time; the profile's ttfbMs (plus jitter) delays every message,
// like transcription latency. Faults on route 'listen': rejectHandshake / status (HTTP refusal with Deepgram's JSON
// body and dg-error header), reset, delayHeaders, delayFirstChunk, silence (no Results), midStreamError (close 1011
// NET-0000 after N Results), destroyAfter, truncateAfter, stallAfter (N counts Results messages), quietFinalize (a
// Finalize with no speech pending is not answered, which Deepgram's docs allow), ignoreFinalize (none is answered).
// The script holds whole sentences, so speech that goes on within the endpointing silence after a Finalize cut it
// brings no words of its own; the same holds when a client closed its stream there (CloseStream) and goes on on its
// next connection (the server remembers the last such cut, by wall clock).
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { sendJson } from './kit/stream.ts';
import { startFakeHttpServer, type FakeServer, type UpgradeContext } from './kit/server.ts';
import { ttfbFor, type ProfileInput } from './kit/profile.ts';
import { WsOutbox } from './ws-outbox.ts';
import { handshakeError } from './deepgram/messages.ts';
import type { ServerMessage } from './deepgram/messages.ts';
import { isAuthorized, refuseHandshake, selectProtocol } from './deepgram/handshake.ts';
import { ListenOptionsError, parseListenOptions } from './deepgram/options.ts';
import { ListenSession } from './deepgram/session.ts';

export type FakeDeepgramOptions = {
  /** Fixed port (npm run fakes); a free one when absent. */
  port?: number;
  /** Require exactly this key; any non-empty key passes when absent. */
  apiKey?: string;
  profile?: ProfileInput;
  /** Deepgram closes a connection that sent no audio and no text message for ~10 s (1011 NET-0001). */
  idleTimeoutMs?: number;
  /** RMS (int16 units) of a 10 ms frame at or above which it counts as speech. */
  speechThresholdRms?: number;
  /** Audio between two interim Results while someone speaks. */
  interimIntervalMs?: number;
};

export type FakeDeepgram = FakeServer & {
  /** Audio between two interim Results, for streams opened from now on (reset() brings back the starting value). */
  setInterimInterval(ms: number): void;
};

export const LISTEN_ROUTE = 'listen';
const DEFAULT_IDLE_TIMEOUT_MS = 10_000;
const DEFAULT_SPEECH_THRESHOLD_RMS = 500;
const DEFAULT_INTERIM_INTERVAL_MS = 300;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export async function startFakeDeepgram(options: FakeDeepgramOptions = {}): Promise<FakeDeepgram> {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: selectProtocol });
  const settings = {
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    speechThresholdRms: options.speechThresholdRms ?? DEFAULT_SPEECH_THRESHOLD_RMS,
    interimIntervalMs: options.interimIntervalMs ?? DEFAULT_INTERIM_INTERVAL_MS,
  };

  /** When a connection's CloseStream last cut an utterance short (wall clock): the caller may go on on the next one. */
  let closedMidSpeechAt: number | undefined;

  function acceptListen(ctx: UpgradeContext): void {
    const { req, socket, head, record, fault } = ctx;
    const requestId = randomUUID();
    if (fault?.kind === 'rejectHandshake' || fault?.kind === 'status') {
      record.status = fault.status;
      const retryAfterS = fault.kind === 'status' ? fault.retryAfterS : undefined;
      return refuseHandshake(socket, fault.status, requestId, { retryAfterS });
    }
    if (!isAuthorized(req, options.apiKey)) {
      record.status = 401;
      return refuseHandshake(socket, 401, requestId);
    }
    let listenOptions;
    try {
      listenOptions = parseListenOptions(ctx.url.searchParams);
    } catch (error) {
      if (!(error instanceof ListenOptionsError)) throw error;
      record.status = 400;
      return refuseHandshake(socket, 400, requestId, { message: error.message });
    }

    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      record.status = 101;
      const outbox = new WsOutbox<ServerMessage>({
        socket: ws,
        latencyMs: ttfbFor(ctx.profile, ctx.requestIndex),
        fault,
        isChunk: (message) => message.type === 'Results',
        failMidStream: (s) => s.close(1011, 'NET-0000'),
        onFault: (applied) => {
          if (applied.kind === 'destroyAfter') record.serverDestroyed = true;
        },
      });
      const untrack = ctx.faults.track(LISTEN_ROUTE, outbox);
      const session = new ListenSession({
        options: listenOptions,
        outbox,
        requestId,
        nextTranscript: () => ctx.script.nextTranscript(),
        idleTimeoutMs: settings.idleTimeoutMs,
        silent: fault?.kind === 'silence',
        quietFinalize: fault?.kind === 'quietFinalize',
        ignoreFinalize: fault?.kind === 'ignoreFinalize',
        speechThresholdRms: settings.speechThresholdRms,
        interimIntervalMs: settings.interimIntervalMs,
        onClosedMidSpeech: () => (closedMidSpeechAt = Date.now()),
        resumesClosedSpeech: (withinMs) => {
          const resumes = closedMidSpeechAt !== undefined && Date.now() - closedMidSpeechAt < withinMs;
          closedMidSpeechAt = undefined;
          return resumes;
        },
      });
      ws.on('message', (data, isBinary) => {
        if (isBinary) session.handleAudio(toBuffer(data));
        else {
          const text = toBuffer(data).toString('utf8');
          // A socket's textual body: its control messages in order (tests read which flush was asked how).
          record.bodyText = record.bodyText === undefined ? text : `${record.bodyText}\n${text}`;
          session.handleText(text);
        }
        record.bodyBytes = session.audioBytes;
      });
      ws.on('close', () => {
        untrack();
        session.dispose();
        if (outbox.endedByServer) record.finished = !record.serverDestroyed;
        else record.clientAborted = true;
      });
    });
  }

  const startingInterimIntervalMs = settings.interimIntervalMs;
  const server = await startFakeHttpServer({
    name: 'deepgram',
    port: options.port,
    routes: [],
    upgrades: [{ name: LISTEN_ROUTE, path: '/v1/listen', handle: acceptListen }],
    authorize: (req) => isAuthorized(req, options.apiKey),
    unauthorized: ({ res }) => sendJson(res, 401, handshakeError(401, randomUUID()).body),
    errorStatus: ({ res }, status) => sendJson(res, status, handshakeError(status, randomUUID()).body),
    profile: options.profile,
    onReset: () => {
      settings.interimIntervalMs = startingInterimIntervalMs;
      closedMidSpeechAt = undefined;
    },
    onClose: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  });
  return Object.assign(server, {
    setInterimInterval(ms: number) {
      if (!(Number.isFinite(ms) && ms > 0)) throw new RangeError(`interim interval must be a positive number of ms, got ${ms}`);
      settings.interimIntervalMs = ms;
    },
  });
}
