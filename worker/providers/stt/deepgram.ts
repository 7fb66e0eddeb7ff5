// Deepgram live transcription as an SttProvider. One socket stays open between utterances (no handshake on the
// latency path); each transcribe() streams its utterance into it, sends Finalize when the audio ends, and ends
// once Deepgram has flushed (the from_finalize Results). A socket that failed is dropped; the next utterance
// opens a fresh one. Vendor quirks handled here:
// - Finalize is answered only "when there is a noticeable amount of audio buffered" (Deepgram's docs: it "may"
//   answer). When the last result was already final, nothing is pending: after a short grace the utterance ends
//   without the flush.
// - Timestamps run from the start of the connection, so messages about an earlier utterance on the same socket
//   (a late UtteranceEnd, a late flush) are recognised by their time and dropped.
// - The engine takes the words as soon as they are final and lets this stream finish in the background; a caller who
//   speaks again while an utterance only waits out that grace takes its socket over at once (no new handshake).
// - A flush request while the audio goes on (the caller fell silent) is a Finalize too: its from_finalize Results,
//   told from the end's by the audio time they cover, come out as a `flushed` final and the stream goes on.
// - A Deepgram that leaves such a Finalize unanswered would leave the words to its endpoint (300 ms of silence, not
//   the engine's 100). CloseStream is always answered, so a flush can be that instead (`flush: 'closeStream'`): the
//   socket's last Results answer the flush, and the audio goes on into a fresh socket, which the utterance's end
//   closes the same way. By default (`'auto'`) the provider flushes with Finalize until one goes unanswered, then
//   with CloseStream: a new connection per flush is paid only where Finalize is not kept. Once it flushes so, the
//   utterance's end is a CloseStream too, flush or no flush.
// - Learning that from an unanswered Finalize would cost the session's first turn its words until the endpoint. So
//   'auto' asks its first flush both ways: Finalize, then CloseStream at once on the same socket (the audio goes on
//   in a fresh one). A from_finalize Results before the socket closes answers the flush and says Finalize is kept;
//   the closing Results bringing words without one say it is not. Either way the flush is answered as soon as
//   Deepgram can, and one extra connection per session is the price of knowing. A probe that brings no words tells
//   neither (a Deepgram may skip a Finalize with nothing pending), so the next flush probes again, MAX_PROBES in all.
// - The end's Finalize, unanswered while words are pending, would leave them to an endpoint that never comes (the
//   audio stopped before Deepgram heard enough silence). After the grace a CloseStream asks for them instead. Its
//   answer always holds a Results, even empty: a socket that sends none for the whole utterance is a Deepgram that
//   takes audio without transcribing it, a failure (the chain replays the utterance), not silence.
import { DeepgramClient } from '@deepgram/sdk';
import { ProviderError } from '../../fallback/errors.ts';
import { Inbox } from '../inbox.ts';
import type { SttEvent, SttProvider, SttRequest, SttWarmRequest } from '../types.ts';
import { DeepgramSocket, type ListenMessage } from './deepgram-socket.ts';
import { FLUSH_EPSILON_S, TIME_EPSILON_S, isStale, resultEvent, spokeBefore, vadEvent } from './deepgram-results.ts';
import { deepgramSettings, listenArgs, type DeepgramSttOptions } from './deepgram-options.ts';

/** 'auto' flushes both ways until it knows whether Finalize is answered, at most this often per session. */
const MAX_PROBES = 3;
/** The longest a new utterance waits for the one before to hand its socket over. */
const HANDOVER_BOUND_MS = 50;

/** A socket sent CloseStream: for a flush (its words answer it), at the audio's end, or as the end's Finalize rescue. */
interface Closing {
  words: string[];
  speechFinal: boolean;
  why: 'flush' | 'probe' | 'end' | 'rescue';
  /** A probe's Finalize was answered (its from_finalize Results): the flush has its answer, and Finalize is kept. */
  answered?: boolean;
  /** Where this utterance began on that socket (what came before is an earlier utterance's). */
  startS: number;
  /** Results it sent since (a CloseStream is answered with one, even empty: none at all is a Deepgram gone quiet). */
  results: number;
}

type InboxItem =
  | { kind: 'message'; message: ListenMessage; from: DeepgramSocket }
  /** A socket told to CloseStream at a flush closed cleanly: everything it owed has come. */
  | { kind: 'ended'; from: DeepgramSocket }
  /** The audio ended and its stream was asked to end: by Finalize (the socket is kept) or CloseStream (it closes). */
  | { kind: 'finalized'; by: 'finalize' | 'closeStream' }
  /** The engine asked for the words so far (the audio goes on). */
  | { kind: 'flush' }
  /** The audio ended without a single sample: nothing to wait for. */
  | { kind: 'empty' }
  | { kind: 'grace'; armed: number }
  /** The end's Finalize went unanswered with words pending: CloseStream asks for them. */
  | { kind: 'rescue'; armed: number };

export interface DeepgramStt extends SttProvider {
  close(): Promise<void>;
  /** How the next flush asks for the words ('auto' turns to 'closeStream' once a Finalize went unanswered). */
  readonly flushingWith: 'finalize' | 'closeStream';
}

export function createDeepgramStt(options: DeepgramSttOptions): DeepgramStt {
  const settings = deepgramSettings(options);
  // `reconnect: false` and reconnectAttempts 0: a failed socket is the fallback engine's business, not the SDK's.
  const client = new DeepgramClient({ apiKey: options.apiKey, ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}), reconnect: false });
  const sockets = new Set<DeepgramSocket>();
  let idle: DeepgramSocket | undefined;
  let closed = false;
  /** Sockets whose utterance has every word final and only waits for a flush that may never come: handover ends it. */
  const draining = new Map<DeepgramSocket, () => Promise<void>>();
  let flushingWith: 'finalize' | 'closeStream' = settings.flush === 'closeStream' ? 'closeStream' : 'finalize';
  /** 'auto' asks its flushes both ways until it sees a Finalize answered (or switches: then every flush is a CloseStream). */
  let probing = settings.flush === 'auto';
  /** Probes sent: one with nothing pending tells nothing (neither way answers with words), so they are bounded. */
  let probes = 0;
  /** What the session warmed a socket for: one an utterance closed (CloseStream) is replaced at once, not on its next use. */
  let warmedFor: SttWarmRequest | undefined;

  async function acquire(sampleRate: number, language: string | undefined): Promise<DeepgramSocket> {
    const settingsKey = `${sampleRate}/${language ?? ''}`;
    if (!idle?.usable) {
      const waiting = [...draining.entries()].find(([s]) => s.usable && s.settingsKey === settingsKey);
      // Bounded: a stream nobody reads any more would never get to its release.
      if (waiting) await Promise.race([waiting[1](), new Promise((r) => setTimeout(r, HANDOVER_BOUND_MS))]);
    }
    return take(sampleRate, language);
  }

  /** The idle socket if it fits, else a new one (it queues audio until it opens). */
  function take(sampleRate: number, language: string | undefined): DeepgramSocket {
    const settingsKey = `${sampleRate}/${language ?? ''}`;
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

  /** The next utterance finds an open socket again: its handshake is paid now, in the caller's silence. */
  function keepWarm(): void {
    if (!warmedFor || closed || idle?.usable) return;
    release(take(warmedFor.sampleRate, warmedFor.language ?? options.language), true);
  }

  function discard(socket: DeepgramSocket): void {
    socket.close({ flush: false });
    sockets.delete(socket);
  }

  /** 'auto' learns that this Deepgram leaves Finalize unanswered: every flush from now on is a CloseStream. */
  function finalizeWentUnanswered(): void {
    if (settings.flush !== 'auto' || flushingWith !== 'finalize') return;
    flushingWith = 'closeStream';
    options.onFlushSwitched?.();
  }

  async function* transcribe(request: SttRequest, signal: AbortSignal): AsyncGenerator<SttEvent> {
    signal.throwIfAborted();
    if (closed) throw new ProviderError('deepgram', 'permanent', 'the provider was closed');
    const language = request.language ?? options.language;
    let socket = await acquire(request.sampleRate, language);
    signal.throwIfAborted();
    const inbox = new Inbox<InboxItem>();
    const listen = (s: DeepgramSocket) =>
      s.attach({
        onMessage: (message) => inbox.push({ kind: 'message', message, from: s }),
        onFailure: (error: ProviderError) => inbox.fail(error),
        onEnd: () => inbox.push({ kind: 'ended', from: s }),
      });
    /** Where this utterance began on the live socket, in its time (a fresh socket after a CloseStream flush starts at 0). */
    let utteranceStartS = socket.sentSeconds;
    listen(socket);
    let finished = false;
    const audio = { ended: false };
    /** Sockets that were sent CloseStream, with the final words they sent since: a flush's answer, or the end's words. */
    const ending = new Map<DeepgramSocket, Closing>();
    const closeLive = (why: Closing['why']) => {
      ending.set(socket, { words: [], speechFinal: false, why, startS: utteranceStartS, results: 0 });
      socket.closeStream();
    };
    /** The live socket was opened by a CloseStream flush: it ends its stream the same way (no grace to guess at). */
    let rotated = false;
    const target = {
      get socket() {
        return socket;
      },
      // Where Finalize is known to go unanswered, the end asks with CloseStream too: a Finalize would leave the words
      // to an endpoint that never comes once the audio stopped.
      endAudio: (): 'finalize' | 'closeStream' => {
        if (!rotated && flushingWith === 'finalize') {
          socket.finalize();
          return 'finalize';
        }
        closeLive('end');
        return 'closeStream';
      },
    };
    const unlisten = request.flush?.listen(() => inbox.push({ kind: 'flush' }));
    void streamAudio(request.audio, target, inbox, audio, () => finished || signal.aborted);

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
      /** Any Results about this utterance came (even empty ones): Deepgram is hearing it. */
      let heardResults = false;
      /** The utterance's own stream is over; it still waits for the flushes' CloseStream answers. */
      let over = false;
      let graces = 0;
      let armed = 0; // the grace timer that still counts; 0: none
      /** After the end's Finalize: how long its answer may take (each new result starts the wait again). */
      const armFinalizeWait = () => {
        clearTimeout(graceTimer);
        armed = 0;
        draining.delete(socket);
        if (!finalizeSent || over) return;
        const token = ++graces;
        armed = token;
        if (!lastResultFinal) {
          graceTimer = setTimeout(() => inbox.push({ kind: 'rescue', armed: token }), settings.finalizeGraceMs);
          return;
        }
        const endGrace = () => inbox.push({ kind: 'grace', armed: token });
        graceTimer = setTimeout(endGrace, settings.finalizeGraceMs);
        draining.set(socket, () => (endGrace(), releasedOnce));
      };
      /** The flush's answer goes to a socket of its own: the old one says its last words, the audio goes on here. */
      const flushByCloseStream = (why: 'flush' | 'probe' = 'flush') => {
        closeLive(why);
        socket = take(request.sampleRate, language);
        rotated = true;
        utteranceStartS = socket.sentSeconds;
        listen(socket);
        lastResultFinal = false;
        flushAtS = undefined;
      };
      for (;;) {
        if (over && ending.size === 0) break;
        const item = await inbox.next(signal);
        if (item.kind === 'empty') {
          over = true;
          continue;
        }
        if (item.kind === 'grace') {
          if (item.armed === armed) over = true;
          continue;
        }
        if (item.kind === 'rescue') {
          if (item.armed !== armed) continue;
          armed = 0;
          over = true; // the CloseStream's answer is the rest
          closeLive('rescue');
          continue;
        }
        if (item.kind === 'finalized') {
          if (item.by === 'closeStream') {
            over = true; // its CloseStream answer is the rest
            continue;
          }
          finalizeSent = true;
          endAtS = socket.sentSeconds;
          armFinalizeWait();
          continue;
        }
        if (item.kind === 'flush') {
          // Nothing to flush before the first sample; once the audio ended, its own Finalize is the flush.
          if (!audio.ended && socket.sentSeconds > utteranceStartS + TIME_EPSILON_S) {
            if (flushingWith === 'closeStream') {
              flushByCloseStream();
            } else if (probing && probes < MAX_PROBES) {
              probes++;
              socket.finalize();
              flushByCloseStream('probe');
            } else {
              socket.finalize();
              flushAtS = socket.sentSeconds;
            }
          }
          continue;
        }
        const closing = ending.get(item.from);
        if (closing) {
          // A socket saying its last words: its finals, then its Metadata (the end), are what the CloseStream asked for.
          const { from } = item;
          if (item.kind === 'message' && item.message.type === 'Results' && !isStale(item.message, closing.startS)) closing.results++;
          if (item.kind === 'message' && item.message.type === 'Results' && item.message.is_final && !isStale(item.message, closing.startS)) {
            const gathered = (closing.why === 'flush' || closing.why === 'probe') && !closing.answered;
            // The end's words go out as they come; a flush's are gathered into its one answer.
            const event = gathered ? undefined : resultEvent(item.message, false);
            if (event) yield event;
            const text = item.message.channel.alternatives[0]?.transcript.trim() ?? '';
            if (text) closing.words.push(text);
            if (item.message.speech_final) closing.speechFinal = true;
            if (gathered && closing.why === 'probe' && item.message.from_finalize) {
              // Finalize answered: the flush has its words now, not when the socket has finished closing.
              closing.answered = true;
              probing = false;
              yield { type: 'final', text: closing.words.join(' '), speechFinal: closing.speechFinal, flushed: true };
            }
          }
          if (item.kind === 'message' && item.message.type !== 'Metadata') continue;
          ending.delete(from);
          from.detach();
          sockets.delete(from);
          // Not a word about the utterance's audio, not even for a CloseStream: Deepgram accepts audio but does not
          // transcribe it. The chain replays the utterance elsewhere rather than take it for silence.
          if (closing.why === 'rescue' && closing.results === 0 && !heardResults) {
            throw new ProviderError('deepgram', 'timeout', `no Results for ${from.sentSeconds.toFixed(1)} s of audio, not even after CloseStream`);
          }
          // Words that only the CloseStream brought: the end's (or the probe's) Finalize had left them unanswered.
          if ((closing.why === 'rescue' || (closing.why === 'probe' && !closing.answered)) && closing.words.length > 0) finalizeWentUnanswered();
          // A flush wants its answer even when empty (nothing more was said).
          if (closing.why === 'flush' || (closing.why === 'probe' && !closing.answered)) yield { type: 'final', text: closing.words.join(' '), speechFinal: closing.speechFinal, flushed: true };
          continue;
        }
        if (item.kind === 'ended' || item.from !== socket) continue;
        const { message } = item;
        if (isStale(message, utteranceStartS)) continue;
        if (message.type === 'Results') {
          lastResultFinal = message.is_final === true;
          heardResults = true;
          const coversToS = message.start + message.duration;
          const flushAnswered = message.from_finalize === true && flushAtS !== undefined && coversToS >= flushAtS - FLUSH_EPSILON_S;
          if (message.from_finalize) probing = false;
          if (flushAnswered) flushAtS = undefined;
          if (flushAtS !== undefined && message.is_final && spokeBefore(message, flushAtS)) {
            // The endpoint answered what the Finalize asked for: that Finalize went unanswered.
            flushAtS = undefined;
            finalizeWentUnanswered();
          }
          const event = resultEvent(message, flushAnswered);
          if (event) yield event;
          if (message.from_finalize && finalizeSent && coversToS >= endAtS - TIME_EPSILON_S) {
            over = true;
            continue;
          }
          armFinalizeWait();
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
      for (const s of ending.keys()) {
        s.detach();
        discard(s);
      }
      // A socket is reused only after a clean finish: one left mid-utterance holds audio whose results would leak.
      release(socket, completed && !signal.aborted);
      // Not after a failure: a vendor that just failed gets no handshake until it is asked for an utterance again.
      if (completed && !signal.aborted) keepWarm();
      released();
    }
  }

  /** Opens the socket the next utterance with these settings takes, ahead of it; a warm one is left as it is. */
  async function warm(request: SttWarmRequest, signal: AbortSignal): Promise<void> {
    if (closed) return;
    warmedFor = request;
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
    get flushingWith() {
      return flushingWith;
    },
    async close() {
      closed = true;
      idle = undefined;
      for (const socket of sockets) socket.close();
      sockets.clear();
    },
  };
}

/** Sends the utterance's audio as it comes (queued by the socket until it opens), then ends its stream (target.endAudio). */
async function streamAudio(
  audio: AsyncIterable<Int16Array>,
  /** The socket the audio goes to (a CloseStream flush moves it on to a fresh one), and how its stream ends. */
  target: { socket: DeepgramSocket; endAudio(): 'finalize' | 'closeStream' },
  inbox: Inbox<InboxItem>,
  state: { ended: boolean },
  stopped: () => boolean,
): Promise<void> {
  let samples = 0;
  try {
    for await (const frame of audio) {
      if (stopped()) return;
      samples += frame.length;
      target.socket.sendAudio(frame);
    }
    if (stopped()) return;
    state.ended = true;
    if (samples === 0) return inbox.push({ kind: 'empty' });
    inbox.push({ kind: 'finalized', by: target.endAudio() });
  } catch (err) {
    inbox.fail(err);
  }
}
