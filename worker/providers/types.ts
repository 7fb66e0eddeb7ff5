// What every provider adapter implements: one small interface per modality, streams of typed parts in, typed
// errors out (see ../fallback/errors.ts). Adapters are thin: build the SDK client with its retries off, map the
// vendor's stream to these types, classify the vendor's errors. Vendor quirks stay inside the adapter.
import type { Modality } from '../../functions/contract.ts';

/** 16-bit PCM mono with its sample rate beside it. */
export interface PcmChunk {
  pcm: Int16Array;
  sampleRate: number;
}

export interface ProviderBase {
  readonly modality: Modality;
  /** The provider's name in chains and metrics, e.g. 'deepgram'. */
  readonly name: string;
}

// ── Speech to text ────────────────────────────────────────────────────────────────────────────────────────────
export type SttEvent =
  | { type: 'speech_started' }
  | { type: 'interim'; text: string }
  /**
   * A settled piece of the utterance. `speechFinal`: the provider's own endpointing thinks the speaker is done.
   * `flushed`: the answer to the latest flush request: every word of the audio before it is now final (text may be '').
   */
  | { type: 'final'; text: string; speechFinal: boolean; flushed?: boolean }
  | { type: 'utterance_end' };

export interface SttRequest {
  /** The utterance's audio: ends when the turn detector decides the caller has finished. */
  audio: AsyncIterable<Int16Array>;
  sampleRate: number;
  language?: string;
  /**
   * The engine asks, while the audio goes on, for everything heard so far to be made final (the caller fell silent).
   * A provider that can flush mid-stream (Deepgram's Finalize) answers with a `flushed` final; others ignore it.
   */
  flush?: FlushRequests;
}

/** Flush requests for one utterance: `listen` is called on each request made from then on; it returns the unlisten. */
export interface FlushRequests {
  listen(onRequest: () => void): () => void;
}

/** The settings the session's utterances will be transcribed with: what a warm connection must match. */
export interface SttWarmRequest {
  sampleRate: number;
  language?: string;
}

export interface SttProvider extends ProviderBase {
  readonly modality: 'stt';
  /** True when results arrive while the caller speaks (Deepgram); false when only after the audio ends (Whisper). */
  readonly streaming: boolean;
  /**
   * Transcribes one utterance. The stream must end only after the provider has delivered everything for the audio
   * it received (for Deepgram: the `from_finalize` results after Finalize); an early end must throw a truncated error.
   */
  transcribe(request: SttRequest, signal: AbortSignal): AsyncIterable<SttEvent>;
  /**
   * Opens, and keeps for the next transcribe() with these settings, the connection it will use, sending no audio.
   * Settles once it is open (rejects when it could not be opened; the next transcribe() then opens its own).
   */
  warm?(request: SttWarmRequest, signal: AbortSignal): Promise<void>;
  /** Releases sockets kept between utterances. */
  close?(): Promise<void>;
}

// ── Language model ────────────────────────────────────────────────────────────────────────────────────────────
export interface ChatMessage {
  role: 'user' | 'assistant';
  text: string;
}

export interface LlmRequest {
  system: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /**
   * Text of this answer already delivered (by another provider that failed mid-stream). The adapter makes the model
   * continue it without repeating it: assistant prefill where the vendor supports it, an explicit instruction where not.
   */
  continueFrom?: string;
  /**
   * Asked before the turn is certain (preemptive generation), so likely to be dropped. A dropped stream takes its
   * keep-alive connection with it, so the warmer opens a spare one beside it (providers/warm.ts). Adapters ignore it.
   */
  speculative?: boolean;
}

export interface LlmUsage {
  inputTokens?: number;
  outputTokens?: number;
}

export type LlmEvent =
  | { type: 'text'; text: string }
  /** Always last; a stream without it was cut off and must throw a truncated error instead. */
  | { type: 'end'; finishReason: string; usage?: LlmUsage };

export interface LlmProvider extends ProviderBase {
  readonly modality: 'llm';
  readonly model: string;
  stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent>;
  /** One cheap request (the vendor's model list) that leaves a pooled keep-alive connection for the next stream(). */
  warm?(signal: AbortSignal): Promise<void>;
}

// ── Text to speech ────────────────────────────────────────────────────────────────────────────────────────────
export interface TtsRequest {
  text: string;
  /** Text spoken just before (helps prosody where the vendor supports it). */
  previousText?: string;
  /** Synthesised ahead for an answer not yet confirmed: see LlmRequest.speculative. */
  speculative?: boolean;
}

export interface TtsProvider extends ProviderBase {
  readonly modality: 'tts';
  /** Rate of every chunk this provider yields. */
  readonly sampleRate: number;
  /** PCM for the text; must end only when the vendor signalled the end (a cut stream throws a truncated error). */
  synthesize(request: TtsRequest, signal: AbortSignal): AsyncIterable<Int16Array>;
  /** One cheap request (the vendor's model list) that leaves a pooled keep-alive connection for the next synthesize(). */
  warm?(signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

export type AnyProvider = SttProvider | LlmProvider | TtsProvider;
