// One spoken reply, streamed end to end: LLM tokens → sentence chunker (first chunk may be a clause) → TTS per chunk
// → the transport's sink. A fixed line (greeting, idle prompt, apology) takes the same path as one ready chunk, so
// both are resampled, captioned, paced and cut by barge-in the same way. The LLM keeps producing while earlier chunks are synthesised and played, and chunk k+1 is
// synthesised while chunk k plays (the sink queues; writes never wait for playout). Synthesis stays only a couple of
// chunks ahead of playout (TTS_LOOKAHEAD), so an interrupted answer costs what was heard plus a little.
import type { ProviderOutcome } from '../../functions/contract.ts';
import { ChainExhaustedError } from '../fallback/errors.ts';
import { streamAnswer, type LlmChainOptions } from '../fallback/llm-chain.ts';
import type { TtsChain } from '../fallback/tts-chain.ts';
import type { LlmRequest } from '../providers/types.ts';
import type { AudioSink, Transcription } from '../transport/types.ts';
import { AsyncQueue } from './async-queue.ts';
import { SpokenTimeline } from './heard-text.ts';
import { SentenceChunker } from './sentence-chunker.ts';
import { wordCount, type TurnTrace } from './turn-trace.ts';
import { waitOn, type SetTimer } from './wait.ts';

/**
 * How far synthesis may run ahead of playout: the next chunk goes to TTS once fewer than `maxChunks` earlier chunks
 * are still unplayed (queued or playing), or once less than `lowWaterMs` of audio is left queued (so short sentences
 * cannot starve playout while TTS answers).
 */
export interface TtsLookahead {
  maxChunks: number;
  lowWaterMs: number;
}

// The sentence playing and two more at most. The low-water mark is on the transport's clock: 2 s of queued audio
// covers a TTS first byte even when that clock runs faster than the wall (the console's --fast mode, 20×).
export const TTS_LOOKAHEAD: TtsLookahead = { maxChunks: 3, lowWaterMs: 2_000 };

export interface Resampler {
  process(pcm: Int16Array): Int16Array;
}

export interface AnswerDeps {
  llm: Omit<LlmChainOptions, 'onOutcome'>;
  tts: TtsChain;
  sink: AudioSink;
  now(): number;
  /** A streaming resampler from a TTS provider's rate to the sink's. */
  resampler(fromRate: number, toRate: number): Resampler;
  onOutcome(outcome: ProviderOutcome): void;
  publish(t: Transcription): void;
  /** Called once, when this answer's first audio is queued. */
  onFirstAudio(): void;
  /** Timers on the transport's clock (the console's is virtual). */
  setTimer: SetTimer;
  lookahead?: TtsLookahead;
  /**
   * A speculative reply: nothing is played until this settles (the turn is confirmed). The first chunk is synthesised
   * meanwhile into a buffer that goes out the moment it settles; later chunks wait for it (and an abort drops it all).
   */
  held?: Promise<void>;
}

export interface AnswerResult {
  /** Everything the LLM produced (all of it was or is being spoken unless interrupted). */
  text: string;
  /** What the LLM chain delivered, kept even when the stream was cut. */
  generated: string;
  /** The LLM chain finished its answer (its outcome, with the real token count, was recorded). */
  llmDone: boolean;
  timeline: SpokenTimeline;
  llmTtftMs?: number;
  ttsTtfbMs?: number;
  firstAudioAtMs?: number;
  providers: { llm?: string; tts?: string };
  failovers: number;
  /** Set when a whole chain failed: the answer stopped there. */
  exhausted?: ChainExhaustedError;
  /** The LLM stopped at maxTokens (finish reason 'length'): a short answer, not a failure. */
  capped?: boolean;
}

/** What a reply says: the LLM's answer to a request, or a fixed line. */
export type ReplySource = { llm: LlmRequest } | { text: string };

const ENDS_SENTENCE = /[.!?…]["'”’)\]]*$/;

/** `trace` (optional) gets this answer's stage times: LLM asked, first token, first text to TTS, first byte, first out. */
export async function speakAnswer(deps: AnswerDeps, source: ReplySource, segmentId: string, signal: AbortSignal, trace?: TurnTrace): Promise<AnswerResult> {
  const started = deps.now();
  const result: AnswerResult = {
    text: '',
    generated: '',
    llmDone: false,
    timeline: new SpokenTimeline(deps.sink.playedMs() + deps.sink.queuedMs()),
    providers: {},
    failovers: 0,
  };
  const chunks = new AsyncQueue<string>();
  const chunked: string[] = [];
  const chunker = new SentenceChunker();
  const lookahead = deps.lookahead ?? TTS_LOOKAHEAD;
  // When no voice is left, producing more text is pointless: the LLM stops with the speaker.
  const llmStop = new AbortController();
  const stopLlm = () => llmStop.abort(signal.reason);
  signal.addEventListener('abort', stopLlm, { once: true });

  const produceFixed = async (text: string) => {
    result.text = text;
    chunked.push(text);
    chunks.push(text);
    chunks.end();
  };

  const produceLlm = async (request: LlmRequest) => {
    try {
      trace?.mark('llmRequestAt');
      for await (const ev of streamAnswer({ ...deps.llm, onOutcome: deps.onOutcome }, request, llmStop.signal)) {
        if (ev.type === 'failover') result.failovers++;
        if (ev.type === 'text') {
          result.llmTtftMs ??= deps.now() - started;
          trace?.mark('llmFirstTokenAt');
          result.providers.llm = ev.provider;
          result.generated += ev.text;
          for (const c of chunker.push(ev.text)) {
            chunked.push(c);
            chunks.push(c);
          }
        }
        if (ev.type === 'done') {
          result.text = ev.text;
          result.llmDone = true;
          // Capped at maxTokens: the answer ends there. Retrying or failing over would cost more and be capped too.
          if (ev.finishReason === 'length') result.capped = true;
        }
      }
      const rest = chunker.flush();
      // A capped answer's unfinished last sentence is not said when a whole one was: the answer ends cleanly.
      if (result.capped && chunked.some((c) => ENDS_SENTENCE.test(c)) && rest.length > 0 && !ENDS_SENTENCE.test(rest.at(-1)!)) {
        result.text = chunked.join(' ');
        return;
      }
      for (const c of rest) chunks.push(c);
    } finally {
      chunks.end();
    }
  };

  // Waits until this chunk may be synthesised without running more than the lookahead ahead of playout.
  const roomAhead = async () => {
    for (;;) {
      if (signal.aborted) return;
      const playedMs = deps.sink.playedMs();
      const unplayed = result.timeline.unplayedEnds(playedMs);
      const queuedMs = deps.sink.queuedMs();
      if (unplayed.length < lookahead.maxChunks || queuedMs < lookahead.lowWaterMs) return;
      const untilRoomMs = Math.min(unplayed[0]! - playedMs, queuedMs - lookahead.lowWaterMs);
      await waitOn(deps.setTimer, Math.min(200, Math.max(10, untilRoomMs)), signal);
    }
  };

  // Held (speculative): open once the turn is confirmed. Until then the first chunk's audio waits in `pending`.
  let open = !deps.held;
  void deps.held?.then(() => (open = true));

  const speak = async () => {
    let index = 0;
    let previous: string | undefined;
    for await (const text of chunks) {
      if (index > 0 && !open) await untilSettledOrAborted(deps.held!, signal);
      await roomAhead();
      if (signal.aborted) break;
      const resamplers = new Map<number, Resampler>();
      const ttsStarted = deps.now();
      if (trace && index === 0) {
        trace.mark('ttsFirstTextAt');
        trace.setFirstTextWords(wordCount(text));
      }
      let first = true;
      const chunkIndex = index;
      const out = (pcm: Int16Array, provider: string) => {
        if (trace && result.firstAudioAtMs === undefined) deps.sink.onNextOut?.((at) => trace.mark('firstFrameOutAt', at));
        deps.sink.write(pcm);
        result.timeline.add(text, (pcm.length / deps.sink.sampleRate) * 1000, chunkIndex);
        result.providers.tts = provider;
        if (first) {
          first = false;
          deps.publish({ speaker: 'agent', text, final: true, segmentId: `${segmentId}-${chunkIndex}` });
          if (result.firstAudioAtMs === undefined) {
            result.firstAudioAtMs = deps.now();
            result.ttsTtfbMs ??= result.firstAudioAtMs - ttsStarted;
            deps.onFirstAudio();
          }
        }
      };
      const pending: { pcm: Int16Array; provider: string }[] = [];
      const release = () => {
        if (signal.aborted) return;
        for (const p of pending.splice(0)) out(p.pcm, p.provider);
      };
      if (!open) void untilSettledOrAborted(deps.held!, signal).then(release);
      for await (const ev of deps.tts.speak(text, signal, previous, !open)) {
        if (ev.type === 'failover') {
          result.failovers++;
          continue;
        }
        if (index === 0) trace?.mark('ttsFirstByteAt');
        let pcm = ev.pcm;
        if (ev.sampleRate !== deps.sink.sampleRate) {
          let r = resamplers.get(ev.sampleRate);
          if (!r) resamplers.set(ev.sampleRate, (r = deps.resampler(ev.sampleRate, deps.sink.sampleRate)));
          pcm = r.process(pcm);
        }
        if (pcm.length === 0 || signal.aborted) continue;
        if (open && pending.length === 0) {
          out(pcm, ev.provider);
          continue;
        }
        // Synthesised ahead of the confirmed turn: its first byte is the voice's, not the wait's.
        if (result.ttsTtfbMs === undefined && pending.length === 0) result.ttsTtfbMs = deps.now() - ttsStarted;
        pending.push({ pcm, provider: ev.provider });
      }
      if (pending.length > 0) {
        await untilSettledOrAborted(deps.held!, signal);
        release();
      }
      if (signal.aborted) break;
      previous = text;
      index++;
    }
  };

  const speaking = speak().catch((err: unknown) => {
    llmStop.abort(err);
    throw err;
  });
  const producing = 'llm' in source ? produceLlm(source.llm) : produceFixed(source.text);
  const [spoken, produced] = await Promise.allSettled([speaking, producing]);
  signal.removeEventListener('abort', stopLlm);
  for (const outcome of [spoken, produced]) {
    if (outcome.status === 'fulfilled' || signal.aborted) continue;
    if (outcome.reason instanceof ChainExhaustedError) {
      result.exhausted ??= outcome.reason;
      continue;
    }
    // The LLM stopped because the speaker did: already reported through the speaker's failure.
    if (outcome === produced && llmStop.signal.aborted) continue;
    throw outcome.reason;
  }
  if (!result.text) result.text = result.timeline.fullText();
  return result;
}

function untilSettledOrAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void p.then(done, done);
  });
}
