// The STT chain, one utterance at a time. The utterance's audio is kept (bounded) while it streams to the first
// provider; when that provider dies mid-sentence, the next one hears the whole utterance again from the start, so no
// words are lost. The consumer is told to drop what the failed provider had transcribed (`restart`), since the next
// one transcribes everything anew. Deadlines run from the end of the audio: a provider that only answers at the end
// (Whisper) is not late while the caller is still talking.
import type { ProviderOutcome } from '../../functions/contract.ts';
import type { FlushRequests, SttEvent, SttProvider } from '../providers/types.ts';
import type { BreakerRegistry } from './breaker.ts';
import type { ProviderError } from './errors.ts';
import { runChain, type Link } from './fallback.ts';
import { ReplayableAudio } from './replayable-audio.ts';

export interface SttChainOptions {
  links: readonly Link<SttProvider>[];
  breakers: BreakerRegistry;
  /** From the end of the caller's audio to the provider's next result. */
  resultTimeoutMs?: number;
  /** Longest utterance kept for replay. */
  maxUtteranceMs?: number;
  language?: string;
  onOutcome?(outcome: ProviderOutcome): void;
}

export type TranscriptEvent =
  | (SttEvent & { provider: string })
  | { type: 'restart'; from: string; to: string | null; error: ProviderError; replayedMs: number };

export async function* transcribeUtterance(
  options: SttChainOptions,
  audio: AsyncIterable<Int16Array>,
  sampleRate: number,
  signal: AbortSignal,
  flush?: FlushRequests,
): AsyncGenerator<TranscriptEvent> {
  const kept = new ReplayableAudio(sampleRate, options.maxUtteranceMs ?? 60_000);
  let samples = 0;
  const feeding = (async () => {
    try {
      for await (const frame of audio) {
        if (signal.aborted) break;
        samples += frame.length;
        kept.push(frame);
      }
    } finally {
      kept.end();
    }
  })();
  const timeoutMs = options.resultTimeoutMs ?? 3_000;
  try {
    for await (const ev of runChain<SttProvider, SttEvent>({
      modality: 'stt',
      links: options.links,
      breakers: options.breakers,
      policy: { firstChunkTimeoutMs: timeoutMs, stallTimeoutMs: timeoutMs, startAfter: kept.ended },
      signal,
      // The audio a provider was given is the utterance so far: what the outcome's audioMs reports.
      onOutcome: (o) => options.onOutcome?.({ ...o, audioMs: Math.round((samples / sampleRate) * 1000) }),
      isContent: (e) => e.type === 'interim' || e.type === 'final',
      start: (link, s) =>
        link.provider.transcribe(
          { audio: kept.reader(s), sampleRate, ...(options.language ? { language: options.language } : {}), ...(flush ? { flush } : {}) },
          s,
        ),
    })) {
      if (ev.type === 'failover') {
        yield { type: 'restart', from: ev.from, to: ev.to, error: ev.error, replayedMs: (samples / sampleRate) * 1000 - kept.droppedMs };
        continue;
      }
      yield { ...ev.chunk, provider: ev.provider };
    }
  } finally {
    await feeding.catch(() => undefined);
  }
}
