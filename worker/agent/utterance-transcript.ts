// One utterance's transcript, read from the STT chain as it streams. It knows when the words are settled: once the
// turn has ended, a final the STT marked as the end of speech (speech_final, or an UtteranceEnd after it) with no
// newer interim means nothing is pending, and the reply may start at once; the stream's own end (Deepgram's Finalize
// flush, or its grace when the flush never comes) then finishes in the background. A final that still arrives after
// the words were taken is a late addition, handed to `onLate`, never a transcript of its own. When the caller falls
// silent the turn detector may ask for a flush (`flush()`): its answer settles every word heard so far, sooner than
// the STT's own endpointing would.
import { transcribeUtterance, type SttChainOptions } from '../fallback/stt-chain.ts';
import { FlushRequester } from '../providers/flush-requests.ts';
import type { Transcription } from '../transport/types.ts';

export interface TranscriptResult {
  text: string;
  provider?: string;
  failovers: number;
  error?: unknown;
}

export interface UtteranceTranscriptOptions {
  stt: SttChainOptions;
  audio: AsyncIterable<Int16Array>;
  sampleRate: number;
  segmentId: string;
  publish(t: Transcription): void;
  /** The STT's own endpointing says the caller stopped (speech_final, UtteranceEnd). */
  onEndOfSpeech(): void;
  /** Words finalised after the transcript was taken. */
  onLate(text: string): void;
  /** The STT answered the latest flush: every word before it is final (its words are published right after). */
  onFlushed?(): void;
  log?: { debug(obj: object, msg?: string): void };
}

export class UtteranceTranscript {
  readonly #o: UtteranceTranscriptOptions;
  #finals: string[] = [];
  #interim = '';
  /** The last content event settled every word heard so far (and the STT said the speaker stopped). */
  #settled = false;
  #audioEnded = false;
  #streamEnded = false;
  #provider: string | undefined;
  #failovers = 0;
  #error: unknown;
  #taken = false;
  readonly #flush = new FlushRequester();
  #wake: (() => void) | undefined;
  readonly #listeners: ((words: string) => void)[] = [];
  /** Settles when the STT stream is over (the flush in, or the grace out). */
  readonly finished: Promise<void>;

  constructor(options: UtteranceTranscriptOptions) {
    this.#o = options;
    this.finished = this.#read();
  }

  /** The utterance's audio ended: from now on, settled words are the turn's words. */
  audioEnded(): void {
    this.#audioEnded = true;
    this.#wake?.();
  }

  /** Asks the STT to make final what it has heard so far; until it answers, nothing counts as settled. */
  flush(): void {
    if (this.#audioEnded || this.#taken) return;
    this.#settled = false;
    this.#flush.request();
  }

  /** The STT's latest hypothesis of the words so far (finals and the newest interim); not settled. */
  get words(): string {
    return this.#text(this.#interim);
  }

  /** Calls `listener` with the words so far each time the STT changes its hypothesis (until the words are taken). */
  onWords(listener: (words: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Resolves with the words once they are settled (see the header); the first call takes them. */
  async take(): Promise<TranscriptResult> {
    while (!(this.#streamEnded || (this.#audioEnded && this.#settled && this.#finals.length > 0))) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    this.#taken = true;
    return {
      text: this.#text(),
      ...(this.#provider ? { provider: this.#provider } : {}),
      failovers: this.#failovers,
      ...(this.#error !== undefined ? { error: this.#error } : {}),
    };
  }

  async #read(): Promise<void> {
    try {
      for await (const ev of transcribeUtterance(this.#o.stt, this.#o.audio, this.#o.sampleRate, new AbortController().signal, this.#flush)) {
        if (ev.type === 'restart') {
          // The next provider transcribes the whole utterance anew. Once the words were taken, its version is no
          // addition: the turn was answered from a complete transcript already.
          if (this.#taken) {
            this.#o.log?.debug({ event: 'stt_restart_after_reply' }, 'a failover after the transcript was taken');
            return;
          }
          this.#failovers++;
          this.#finals = [];
          this.#interim = '';
          this.#settled = false;
          this.#changed();
          continue;
        }
        this.#provider = ev.provider;
        if (ev.type === 'interim') {
          this.#interim = ev.text;
          this.#settled = false;
        } else if (ev.type === 'final') {
          const text = ev.text.trim();
          this.#interim = '';
          if (text && this.#taken) this.#o.onLate(text);
          if (text) this.#finals.push(text);
          if (ev.flushed) this.#settled = true;
          else if (text || ev.speechFinal) this.#settled = ev.speechFinal;
          if (ev.speechFinal) this.#o.onEndOfSpeech();
          if (ev.flushed && !this.#taken) this.#o.onFlushed?.();
        } else if (ev.type === 'utterance_end') {
          if (!this.#interim) this.#settled = true;
          this.#o.onEndOfSpeech();
        }
        if ((ev.type === 'interim' || ev.type === 'final') && !this.#taken) {
          const text = this.#text(this.#interim);
          if (text) this.#o.publish({ speaker: 'user', text, final: false, segmentId: this.#o.segmentId });
          this.#changed();
        }
        this.#wake?.();
      }
    } catch (error) {
      this.#error = error;
    } finally {
      this.#streamEnded = true;
      this.#wake?.();
    }
  }

  #changed(): void {
    if (this.#taken) return;
    const words = this.words;
    for (const l of this.#listeners) l(words);
  }

  #text(interim = ''): string {
    return [...this.#finals, interim].join(' ').trim();
  }
}
