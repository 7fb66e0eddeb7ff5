// Deepgram live transcription as an SttProvider. One socket stays open between utterances (no handshake on the
// latency path); each transcribe() streams its utterance into it, sends Finalize when the audio ends, and ends
// once Deepgram has flushed (the from_finalize Results). A socket that failed is dropped; the next utterance
// opens a fresh one. Vendor quirks handled here:
// - Finalize is answered only "when there is a noticeable amount of audio buffered" (Deepgram's docs). When the
//   last result was already final, nothing is pending: after a short grace the utterance ends without the flush.
// - Timestamps run from the start of the connection, so messages about an earlier utterance on the same socket
//   (a late UtteranceEnd, a late flush) are recognised by their time and dropped.
// - The engine takes the words as soon as they are final and lets this stream finish in the background; a caller who
//   speaks again while an utterance only waits out that grace takes its socket over at once (no new handshake).
// - A flush request while the audio goes on (the caller fell silent) is a Finalize too: its from_finalize Results,
//   told from the end's by the audio time they cover, come out as a `flushed` final and the stream goes on.
import { DeepgramClient } from '@deepgram/sdk';
import { ProviderError } from '../../fallback/errors.ts';
import { Inbox } from '../inbox.ts';
import type { SttEvent, SttProvider, SttRequest, SttWarmRequest } from '../types.ts';
import { DeepgramSocket, type ListenArgs, type ListenMessage } from './deepgram-socket.ts';

export interface DeepgramSttOptions {
  apiKey: string;
  /** Origin only, e.g. http://127.0.0.1:8904 (DEEPGRAM_BASE_URL); the SDK turns it into ws:// + /v1/listen. */
  baseUrl?: string;
  model?: string;
  /** Used when the request names none; Deepgram's default (English) when neither does. */
  language?: string;
  /** Silence after which Deepgram marks a final speech_final. */
  endpointingMs?: number;
  /** Silence after the last word before an UtteranceEnd (Deepgram's minimum is 1000). */
  utteranceEndMs?: number;
  smartFormat?: boolean;
  /** KeepAlive cadence on a quiet socket; keep it under half of Deepgram's ~10 s idle limit. */
  keepAliveIntervalMs?: number;
  /** How long to wait for a from_finalize that may never come, when nothing was pending. */
  finalizeGraceMs?: number;
  /** The SDK's handshake deadline: a backstop behind the engine's. */
  connectTimeoutMs?: number;
}

export const DEFAULT_DEEPGRAM_MODEL = 'nova-3';
const DEFAULTS = {
  endpointingMs: 300,
  utteranceEndMs: 1000,
  keepAliveIntervalMs: 3_000,
  finalizeGraceMs: 500,
  connectTimeoutMs: 10_000,
};
/** The longest a new utterance waits for the one before to hand its socket over. */
const HANDOVER_BOUND_MS = 50;
/** Deepgram prints times in ms precision; this absorbs the rounding. */
const TIME_EPSILON_S = 0.005;
/** A flush's answer may stop short of the exact sample it was asked at (audio is processed in frames). */
const FLUSH_EPSILON_S = 0.05;

type InboxItem =
  | { kind: 'message'; message: ListenMessage }
  /** The audio ended and Finalize went out. */
  | { kind: 'finalized' }
  /** The engine asked for the words so far (the audio goes on). */
  | { kind: 'flush' }
  /** The audio ended without a single sample: nothing to wait for. */
  | { kind: 'empty' }
  | { kind: 'grace'; armed: number };

export interface DeepgramStt extends SttProvider {
  close(): Promise<void>;
}

export function createDeepgramStt(options: DeepgramSttOptions): DeepgramStt {
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  // `reconnect: false` and reconnectAttempts 0: a failed socket is the fallback engine's business, not the SDK's.
  const client = new DeepgramClient({ apiKey: options.apiKey, ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}), reconnect: false });
  const sockets = new Set<DeepgramSocket>();
  let idle: DeepgramSocket | undefined;
  let closed = false;
  /** Sockets whose utterance has every word final and only waits for a flush that may never come: handover ends it. */
  const draining = new Map<DeepgramSocket, () => Promise<void>>();

  async function acquire(sampleRate: number, language: string | undefined): Promise<DeepgramSocket> {
    const settingsKey = `${sampleRate}/${language ?? ''}`;
    if (!idle?.usable) {
      const waiting = [...draining.entries()].find(([s]) => s.usable && s.settingsKey === settingsKey);
      // Bounded: a stream nobody reads any more would never get to its release.
      if (waiting) await Promise.race([waiting[1](), new Promise((r) => setTimeout(r, HANDOVER_BOUND_MS))]);
    }
    const candidate = idle;
    idle = undefined;
    if (candidate?.usable && candidate.settingsKey === settingsKey) return candidate;
    if (candidate) discard(candidate);
    const socket = new DeepgramSocket(client, listenArgs(options, settings, sampleRate, language), {
      settingsKey,
      sampleRate,
      keepAliveIntervalMs: settings.keepAliveIntervalMs,
    });
    sockets.add(socket);
    return socket;
  }

  function release(socket: DeepgramSocket, reusable: boolean): void {
    socket.detach();
    if (reusable && socket.usable && !closed && !idle) idle = socket;
    else discard(socket);
  }

  function discard(socket: DeepgramSocket): void {
    socket.close({ flush: false });
    sockets.delete(socket);
  }

  async function* transcribe(request: SttRequest, signal: AbortSignal): AsyncGenerator<SttEvent> {
    signal.throwIfAborted();
    if (closed) throw new ProviderError('deepgram', 'permanent', 'the provider was closed');
    const socket = await acquire(request.sampleRate, request.language ?? options.language);
    signal.throwIfAborted();
    const inbox = new Inbox<InboxItem>();
    const utteranceStartS = socket.sentSeconds;
    socket.attach({
      onMessage: (message) => inbox.push({ kind: 'message', message }),
      onFailure: (error: ProviderError) => inbox.fail(error),
    });
    let finished = false;
    const audio = { ended: false };
    const unlisten = request.flush?.listen(() => inbox.push({ kind: 'flush' }));
    void streamAudio(request.audio, socket, inbox, audio, () => finished || signal.aborted);

    let completed = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let released: () => void = () => undefined;
    const releasedOnce = new Promise<void>((resolve) => (released = resolve));
    try {
      let finalizeSent = false;
      /** Where the audio ended (the end's Finalize), and where the flush still unanswered was asked, in socket time. */
      let endAtS = Infinity;
      let flushAtS: number | undefined;
      let lastResultFinal = false;
      let graces = 0;
      let armed = 0; // the grace timer that still counts; 0: none
      const armGraceIfNothingPending = () => {
        clearTimeout(graceTimer);
        armed = 0;
        draining.delete(socket);
        if (!finalizeSent || !lastResultFinal) return;
        const token = ++graces;
        armed = token;
        const endGrace = () => inbox.push({ kind: 'grace', armed: token });
        graceTimer = setTimeout(endGrace, settings.finalizeGraceMs);
        draining.set(socket, () => (endGrace(), releasedOnce));
      };
      for (;;) {
        const item = await inbox.next(signal);
        if (item.kind === 'empty') break;
        if (item.kind === 'grace') {
          if (item.armed === armed) break;
          continue;
        }
        if (item.kind === 'finalized') {
          finalizeSent = true;
          endAtS = socket.sentSeconds;
          armGraceIfNothingPending();
          continue;
        }
        if (item.kind === 'flush') {
          // Nothing to flush before the first sample; once the audio ended, its own Finalize is the flush.
          if (!audio.ended && socket.sentSeconds > utteranceStartS + TIME_EPSILON_S) {
            socket.finalize();
            flushAtS = socket.sentSeconds;
          }
          continue;
        }
        const { message } = item;
        if (isStale(message, utteranceStartS)) continue;
        if (message.type === 'Results') {
          lastResultFinal = message.is_final === true;
          const coversToS = message.start + message.duration;
          const flushAnswered = message.from_finalize === true && flushAtS !== undefined && coversToS >= flushAtS - FLUSH_EPSILON_S;
          if (flushAnswered) flushAtS = undefined;
          const event = resultEvent(message, flushAnswered);
          if (event) yield event;
          if (message.from_finalize && finalizeSent && coversToS >= endAtS - TIME_EPSILON_S) break;
          armGraceIfNothingPending();
          continue;
        }
        const event = vadEvent(message);
        if (event) yield event;
      }
      completed = true;
    } finally {
      finished = true;
      unlisten?.();
      clearTimeout(graceTimer);
      draining.delete(socket);
      // A socket is reused only after a clean finish: one left mid-utterance holds audio whose results would leak.
      release(socket, completed && !signal.aborted);
      released();
    }
  }

  /** Opens the socket the next utterance with these settings takes, ahead of it; a warm one is left as it is. */
  async function warm(request: SttWarmRequest, signal: AbortSignal): Promise<void> {
    if (closed) return;
    const settingsKey = `${request.sampleRate}/${request.language ?? options.language ?? ''}`;
    let socket = idle;
    if (!socket?.usable || socket.settingsKey !== settingsKey) {
      socket = await acquire(request.sampleRate, request.language ?? options.language);
      release(socket, true);
    }
    await socket.whenOpen(signal);
  }

  return {
    modality: 'stt',
    name: 'deepgram',
    streaming: true,
    transcribe,
    warm,
    async close() {
      closed = true;
      idle = undefined;
      for (const socket of sockets) socket.close();
      sockets.clear();
    },
  };
}

/** Sends the utterance's audio as it comes (queued by the socket until it opens), then Finalize. */
async function streamAudio(
  audio: AsyncIterable<Int16Array>,
  socket: DeepgramSocket,
  inbox: Inbox<InboxItem>,
  state: { ended: boolean },
  stopped: () => boolean,
): Promise<void> {
  let samples = 0;
  try {
    for await (const frame of audio) {
      if (stopped()) return;
      samples += frame.length;
      socket.sendAudio(frame);
    }
    if (stopped()) return;
    state.ended = true;
    if (samples === 0) return inbox.push({ kind: 'empty' });
    socket.finalize();
    inbox.push({ kind: 'finalized' });
  } catch (err) {
    inbox.fail(err);
  }
}

function listenArgs(options: DeepgramSttOptions, settings: typeof DEFAULTS, sampleRate: number, language: string | undefined): ListenArgs {
  return {
    model: options.model ?? DEFAULT_DEEPGRAM_MODEL,
    encoding: 'linear16',
    sample_rate: sampleRate,
    channels: 1,
    interim_results: 'true',
    endpointing: settings.endpointingMs,
    utterance_end_ms: settings.utteranceEndMs,
    vad_events: 'true',
    smart_format: options.smartFormat === false ? 'false' : 'true',
    ...(language ? { language } : {}),
    reconnectAttempts: 0,
    shouldReconnect: () => false,
    connectionTimeoutInSeconds: settings.connectTimeoutMs / 1000,
  };
}

/** A message about audio sent before this utterance began (the previous one's late UtteranceEnd or flush). */
function isStale(message: ListenMessage, utteranceStartS: number): boolean {
  switch (message.type) {
    case 'Results':
      return message.start + message.duration <= utteranceStartS + TIME_EPSILON_S && utteranceStartS > 0;
    case 'SpeechStarted':
      return message.timestamp < utteranceStartS - TIME_EPSILON_S;
    case 'UtteranceEnd':
      return message.last_word_end <= utteranceStartS + TIME_EPSILON_S && utteranceStartS > 0;
    default:
      return false;
  }
}

/** `flushed`: it answers the engine's flush, which wants to hear even an empty one (nothing more was said). */
function resultEvent(message: Extract<ListenMessage, { type: 'Results' }>, flushed: boolean): SttEvent | undefined {
  const text = message.channel.alternatives[0]?.transcript.trim() ?? '';
  const speechFinal = message.speech_final === true;
  if (flushed) return { type: 'final', text, speechFinal, flushed: true };
  if (!text) return undefined;
  return message.is_final ? { type: 'final', text, speechFinal } : { type: 'interim', text };
}

function vadEvent(message: ListenMessage): SttEvent | undefined {
  if (message.type === 'SpeechStarted') return { type: 'speech_started' };
  if (message.type === 'UtteranceEnd') return { type: 'utterance_end' };
  return undefined; // Metadata
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
