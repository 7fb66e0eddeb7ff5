// One live transcription connection: turns the audio and control messages a client sends into the messages Deepgram
// would answer with. Transport-free: it talks to a WsOutbox, so the rules here read like the vendor's documentation.
import { createHash } from 'node:crypto';
import type { WsOutbox } from '../ws-outbox.ts';
import * as msg from './messages.ts';
import type { ListenOptions } from './options.ts';
import { SpeechDetector, type OpenUtterance, type SpeechEvent } from './speech-detector.ts';

export type ListenSessionConfig = {
  options: ListenOptions;
  outbox: WsOutbox<msg.ServerMessage>;
  requestId: string;
  /** The scripted transcript of the next utterance. */
  nextTranscript: () => string;
  /** No audio and no text message for this long closes the stream with 1011 NET-0001. */
  idleTimeoutMs: number;
  /** The 'silence' fault: audio is accepted, but no Results (and so no UtteranceEnd) ever go out. */
  silent: boolean;
  /**
   * The 'quietFinalize' fault: Finalize is answered only when speech is pending, as Deepgram documents it ("when there
   * is a noticeable amount of audio buffered"); after a speech_final, a Finalize then gets nothing back.
   */
  quietFinalize: boolean;
  /** The 'ignoreFinalize' fault: no Finalize is ever answered (the stream still endpoints and closes as usual). */
  ignoreFinalize: boolean;
  speechThresholdRms: number;
  /** Audio between two interim Results while someone speaks. */
  interimIntervalMs: number;
  /** CloseStream cut an utterance short (speech was open): the server remembers it for the client's next connection. */
  onClosedMidSpeech?: () => void;
  /**
   * This connection's first speech goes on with an utterance another connection's CloseStream cut, within the
   * endpointing silence before (asked once, at that speech's start).
   */
  resumesClosedSpeech?: (withinMs: number) => boolean;
};

/** Silence that closes an utterance when the client disabled endpointing (finals then carry speech_final false). */
const SEGMENT_SILENCE_WITHOUT_ENDPOINTING_MS = 500;

type Utterance = { transcript: string; words: string[]; startMs: number; interims: number };

/**
 * Where the speech of the utterance a Finalize cut ended: speech again within the endpointing silence goes on with it,
 * if the audio kept flowing meanwhile (`audioPaused`: the client stopped sending, so this was the end of its turn).
 */
type CutUtterance = { speechEndMs: number; audioPaused: boolean };
/** A pause in the client's audio longer than this means it stopped streaming (it streams in real time, 20 ms frames). */
const STREAM_PAUSE_MS = 100;

export class ListenSession {
  readonly #config: ListenSessionConfig;
  readonly #model: msg.ModelIdentity;
  readonly #detector: SpeechDetector;
  readonly #audioHash = createHash('sha256');
  readonly #createdAt = new Date();
  #audioBytes = 0;
  #utterance: Utterance | null = null;
  #cut: CutUtterance | null = null;
  #lastAudioAt = 0;
  /** Start of the audio no final Results has covered yet: Results windows tile the stream. */
  #segmentStartMs = 0;
  #closing = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #utterances = 0;

  constructor(config: ListenSessionConfig) {
    this.#config = config;
    const { options } = config;
    this.#model = msg.modelIdentity(options.model);
    this.#detector = new SpeechDetector({
      sampleRate: options.sampleRate,
      channels: options.channels,
      endpointingMs: options.endpointingMs ?? SEGMENT_SILENCE_WITHOUT_ENDPOINTING_MS,
      utteranceEndMs: options.interimResults ? options.utteranceEndMs : null, // Deepgram needs interim_results for it
      tickMs: config.interimIntervalMs,
      thresholdRms: config.speechThresholdRms,
    });
    this.#armIdleTimer();
  }

  get audioBytes(): number {
    return this.#audioBytes;
  }

  handleAudio(bytes: Buffer): void {
    if (this.#closing) return;
    this.#armIdleTimer();
    if (bytes.length === 0) {
      // An empty binary frame is Deepgram's legacy way of saying CloseStream.
      this.#closeStream();
      return;
    }
    const now = Date.now();
    if (this.#cut && now - this.#lastAudioAt > STREAM_PAUSE_MS) this.#cut.audioPaused = true;
    this.#lastAudioAt = now;
    this.#audioBytes += bytes.length;
    this.#audioHash.update(bytes);
    for (const event of this.#detector.push(bytes)) this.#onSpeechEvent(event);
  }

  handleText(text: string): void {
    if (this.#closing) return;
    this.#armIdleTimer();
    let type: unknown;
    try {
      type = (JSON.parse(text) as { type?: unknown }).type;
    } catch {
      type = undefined;
    }
    switch (type) {
      case 'KeepAlive':
        return; // keeps the connection open; Deepgram never answers it
      case 'Finalize': {
        if (this.#config.ignoreFinalize) return;
        const cut = this.#detector.cut();
        if (cut === null && this.#config.quietFinalize) return;
        // A client may Finalize when its caller pauses (Pipecat does, at its VAD's stop): the words go out final. The
        // script holds whole sentences, so the line goes out whole, and speech resuming inside the endpointing
        // silence (the rest of "wait, what about tomorrow") brings no words of its own; later speech is the next line.
        if (cut) this.#cut = { speechEndMs: cut.speechEndMs, audioPaused: false };
        this.#flush(cut, { fromFinalize: true });
        return;
      }
      case 'CloseStream':
        this.#closeStream();
        return;
      default:
        this.#config.outbox.closeNow(1008, 'Invalid text message: expected KeepAlive, Finalize or CloseStream');
        this.dispose();
    }
  }

  /** Stops the timers (the connection is gone). */
  dispose(): void {
    this.#closing = true;
    clearTimeout(this.#idleTimer);
  }

  #onSpeechEvent(event: SpeechEvent): void {
    const { options } = this.#config;
    switch (event.type) {
      case 'speechStart': {
        const cut = this.#cut;
        this.#cut = null;
        const endpointingMs = options.endpointingMs ?? SEGMENT_SILENCE_WITHOUT_ENDPOINTING_MS;
        // The same rule across connections: a client that closed its stream at a pause (CloseStream) and goes on at
        // once on a new one is still saying the line the old one answered.
        const firstOnConnection = this.#utterances++ === 0;
        const goesOn =
          (cut !== null && !cut.audioPaused && event.atMs - cut.speechEndMs < endpointingMs) ||
          (firstOnConnection && (this.#config.resumesClosedSpeech?.(endpointingMs) ?? false));
        const transcript = goesOn ? '' : this.#config.nextTranscript();
        const words = transcript.split(/\s+/).filter((w) => w.length > 0);
        this.#utterance = { transcript, words, startMs: event.atMs, interims: 0 };
        if (options.vadEvents) this.#config.outbox.send(msg.speechStarted(event.atMs));
        return;
      }
      case 'speechTick': {
        const utterance = this.#utterance;
        if (!utterance || !options.interimResults) return;
        utterance.interims += 1;
        // One more word per interim: the hypothesis grows while the person speaks.
        const partial = utterance.words.slice(0, Math.min(utterance.interims, utterance.words.length)).join(' ');
        this.#sendResults({
          endMs: event.atMs,
          transcript: partial,
          words: msg.timedWords(partial, utterance.startMs, event.atMs),
          isFinal: false,
          speechFinal: false,
          fromFinalize: false,
        });
        return;
      }
      case 'endpoint':
        this.#finalResults({ startMs: event.startMs, speechEndMs: event.speechEndMs }, event.atMs, {
          speechFinal: options.endpointingMs !== null,
          fromFinalize: false,
        });
        return;
      case 'utteranceEnd':
        if (!this.#config.silent) this.#config.outbox.send(msg.utteranceEnd(event.lastWordEndMs));
        return;
    }
  }

  /** Finalize and CloseStream: whatever audio is pending becomes one final Results (empty if nobody spoke). */
  #flush(cut: OpenUtterance | null, flags: { fromFinalize: boolean }): void {
    this.#finalResults(cut, this.#detector.audioMs, { speechFinal: false, fromFinalize: flags.fromFinalize });
  }

  #finalResults(spoken: OpenUtterance | null, atMs: number, flags: { speechFinal: boolean; fromFinalize: boolean }): void {
    const utterance = this.#utterance;
    this.#utterance = null;
    const transcript = spoken && utterance ? utterance.transcript : '';
    const words = spoken ? msg.timedWords(transcript, spoken.startMs, spoken.speechEndMs) : [];
    this.#sendResults({ endMs: atMs, transcript, words, isFinal: true, ...flags });
    this.#segmentStartMs = atMs;
  }

  #sendResults(input: Omit<msg.ResultsInput, 'requestId' | 'model' | 'startMs'>): void {
    if (this.#config.silent) return;
    const startMs = Math.min(this.#segmentStartMs, input.endMs);
    this.#config.outbox.send(msg.results({ ...input, startMs, requestId: this.#config.requestId, model: this.#model }));
  }

  #closeStream(): void {
    const cut = this.#detector.cut();
    if (cut) this.#config.onClosedMidSpeech?.();
    this.#flush(cut, { fromFinalize: false });
    const { options, outbox, requestId } = this.#config;
    const bytesPerSecond = options.sampleRate * options.channels * 2;
    outbox.send(
      msg.metadata({
        requestId,
        sha256: this.#audioHash.digest('hex'),
        createdAt: this.#createdAt,
        durationMs: (this.#audioBytes * 1000) / bytesPerSecond,
        channels: options.channels,
        model: this.#model,
      }),
    );
    outbox.close(1000);
    this.dispose();
  }

  #armIdleTimer(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.dispose();
      this.#config.outbox.closeNow(1011, 'NET-0001');
    }, this.#config.idleTimeoutMs);
  }
}
