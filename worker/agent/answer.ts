// One spoken answer, streamed end to end: LLM tokens → sentence chunker (first chunk may be a clause) → TTS per chunk
// → the transport's sink. The LLM keeps producing while earlier chunks are synthesised and played, and chunk k+1 is
// synthesised while chunk k plays (the sink queues; writes never wait for playout).
import type { ProviderOutcome } from '../../functions/contract.ts';
import { ChainExhaustedError } from '../pipeline/errors.ts';
import { streamAnswer, type LlmChainOptions } from '../pipeline/llm-chain.ts';
import type { TtsChain } from '../pipeline/tts-chain.ts';
import type { LlmRequest } from '../providers/types.ts';
import type { AudioSink, Transcription } from '../transport/types.ts';
import { AsyncQueue } from './async-queue.ts';
import { SpokenTimeline } from './heard-text.ts';
import { SentenceChunker } from './sentence-chunker.ts';
import { wordCount, type TurnTrace } from './turn-trace.ts';

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
}

export interface AnswerResult {
  /** Everything the LLM produced (all of it was or is being spoken unless interrupted). */
  text: string;
  timeline: SpokenTimeline;
  llmTtftMs?: number;
  ttsTtfbMs?: number;
  firstAudioAtMs?: number;
  providers: { llm?: string; tts?: string };
  failovers: number;
  /** Set when a whole chain failed: the answer stopped there. */
  exhausted?: ChainExhaustedError;
}

/** `trace` (optional) gets this answer's stage times: LLM asked, first token, first text to TTS, first byte, first out. */
export async function speakAnswer(deps: AnswerDeps, request: LlmRequest, segmentId: string, signal: AbortSignal, trace?: TurnTrace): Promise<AnswerResult> {
  const started = deps.now();
  const result: AnswerResult = {
    text: '',
    timeline: new SpokenTimeline(deps.sink.playedMs() + deps.sink.queuedMs()),
    providers: {},
    failovers: 0,
  };
  const chunks = new AsyncQueue<string>();
  const chunker = new SentenceChunker();
  // When no voice is left, producing more text is pointless: the LLM stops with the speaker.
  const llmStop = new AbortController();
  const stopLlm = () => llmStop.abort(signal.reason);
  signal.addEventListener('abort', stopLlm, { once: true });

  const produce = async () => {
    try {
      trace?.mark('llmRequestAt');
      for await (const ev of streamAnswer({ ...deps.llm, onOutcome: deps.onOutcome }, request, llmStop.signal)) {
        if (ev.type === 'failover') result.failovers++;
        if (ev.type === 'text') {
          result.llmTtftMs ??= deps.now() - started;
          trace?.mark('llmFirstTokenAt');
          result.providers.llm = ev.provider;
          for (const c of chunker.push(ev.text)) chunks.push(c);
        }
        if (ev.type === 'done') result.text = ev.text;
      }
      for (const c of chunker.flush()) chunks.push(c);
    } finally {
      chunks.end();
    }
  };

  const speak = async () => {
    let index = 0;
    let previous: string | undefined;
    for await (const text of chunks) {
      if (signal.aborted) break;
      const resamplers = new Map<number, Resampler>();
      const ttsStarted = deps.now();
      if (trace && index === 0) {
        trace.mark('ttsFirstTextAt');
        trace.firstTextWords = wordCount(text);
      }
      let first = true;
      for await (const ev of deps.tts.speak(text, signal, previous)) {
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
        if (trace && result.firstAudioAtMs === undefined) deps.sink.onNextOut?.((at) => trace.mark('firstFrameOutAt', at));
        deps.sink.write(pcm);
        result.timeline.add(text, (pcm.length / deps.sink.sampleRate) * 1000, index);
        result.providers.tts = ev.provider;
        if (first) {
          first = false;
          deps.publish({ speaker: 'agent', text, final: true, segmentId: `${segmentId}-${index}` });
          if (result.firstAudioAtMs === undefined) {
            result.firstAudioAtMs = deps.now();
            result.ttsTtfbMs = result.firstAudioAtMs - ttsStarted;
            deps.onFirstAudio();
          }
        }
      }
      previous = text;
      index++;
    }
  };

  const speaking = speak().catch((err: unknown) => {
    llmStop.abort(err);
    throw err;
  });
  const [spoken, produced] = await Promise.allSettled([speaking, produce()]);
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
