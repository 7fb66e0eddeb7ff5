// The TTS chain, one sentence at a time. A failure before the sentence's first audio → the same sentence on the next
// provider. After audio started → only the text not yet spoken goes to the next provider (estimated from the audio
// already delivered, at a word boundary, erring towards skipping a fragment rather than repeating words). After a
// failover the backup voice keeps the rest of the session (no voice flip-flopping) unless `sticky` is off.
import type { ProviderOutcome } from '../../functions/contract.ts';
import type { TtsProvider } from '../providers/types.ts';
import type { BreakerRegistry } from './breaker.ts';
import type { ProviderError } from './errors.ts';
import { runChain, type Link } from './fallback.ts';
import type { WatchPolicy } from './watchdog.ts';

export const DEFAULT_TTS_POLICY: WatchPolicy = { firstChunkTimeoutMs: 3_000, stallTimeoutMs: 2_000 };
/**
 * Speaking rate assumed before a provider's own rate has been measured. Set on the fast side of real voices
 * (about 14-17 characters a second) so the estimate of what was spoken errs towards skipping, not repeating.
 */
const DEFAULT_CHARS_PER_MS = 0.018;

export interface TtsChainOptions {
  links: readonly Link<TtsProvider>[];
  breakers: BreakerRegistry;
  policy?: WatchPolicy;
  /** Keep the voice that took over after a failover (default true). */
  sticky?: boolean;
  onOutcome?(outcome: ProviderOutcome): void;
}

export type SpeechEvent =
  | { type: 'audio'; pcm: Int16Array; sampleRate: number; provider: string }
  | { type: 'failover'; from: string; to: string | null; error: ProviderError; remainingText: string };

export function msOf(samples: number, sampleRate: number): number {
  return (samples / sampleRate) * 1000;
}

/** Where the unspoken rest of `text` starts, given roughly how many characters the audio so far covered. */
export function unspokenFrom(text: string, spokenChars: number): number {
  if (spokenChars <= 0) return 0;
  if (spokenChars >= text.length) return text.length;
  const boundary = text.slice(Math.ceil(spokenChars)).search(/\s\S/);
  return boundary < 0 ? text.length : Math.ceil(spokenChars) + boundary + 1;
}

export class TtsChain {
  #order: Link<TtsProvider>[];
  readonly #options: TtsChainOptions;
  /** Measured characters per ms of audio, per provider: makes the "how much was spoken" estimate honest. */
  readonly #rate = new Map<string, number>();

  constructor(options: TtsChainOptions) {
    this.#options = options;
    this.#order = [...options.links];
  }

  get order(): string[] {
    return this.#order.map((l) => l.name);
  }

  /** `speculative`: see TtsRequest. */
  async *speak(text: string, signal: AbortSignal, previousText?: string, speculative = false): AsyncGenerator<SpeechEvent> {
    let remaining = text;
    let attemptText = text;
    let spokenMsThisAttempt = 0;
    let lastProvider: string | undefined;
    for await (const ev of runChain<TtsProvider, Int16Array>({
      modality: 'tts',
      links: this.#order,
      breakers: this.#options.breakers,
      policy: this.#options.policy ?? DEFAULT_TTS_POLICY,
      signal,
      onOutcome: (o) => this.#options.onOutcome?.({ ...o, characters: attemptText.length }),
      isContent: (pcm) => pcm.length > 0,
      measure: (pcm) => ({ audioMs: msOf(pcm.length, this.#sampleRateOf(lastProvider)) }),
      start: (link, s) => {
        lastProvider = link.name;
        spokenMsThisAttempt = 0;
        attemptText = remaining;
        return link.provider.synthesize({ text: remaining, ...(previousText ? { previousText } : {}), ...(speculative ? { speculative } : {}) }, s);
      },
    })) {
      if (ev.type === 'failover') {
        const rate = this.#rate.get(ev.from) ?? DEFAULT_CHARS_PER_MS;
        remaining = remaining.slice(unspokenFrom(remaining, spokenMsThisAttempt * rate));
        if (ev.to && (this.#options.sticky ?? true)) this.#promote(ev.to);
        yield { ...ev, remainingText: remaining };
        if (remaining.trim() === '') return;
        continue;
      }
      const sampleRate = this.#sampleRateOf(ev.provider);
      spokenMsThisAttempt += msOf(ev.chunk.length, sampleRate);
      yield { type: 'audio', pcm: ev.chunk, sampleRate, provider: ev.provider };
    }
    if (lastProvider && spokenMsThisAttempt > 0 && remaining.length > 0) {
      this.#rate.set(lastProvider, remaining.length / spokenMsThisAttempt);
    }
  }

  #sampleRateOf(name: string | undefined): number {
    return this.#order.find((l) => l.name === name)?.provider.sampleRate ?? 24_000;
  }

  #promote(name: string): void {
    const i = this.#order.findIndex((l) => l.name === name);
    if (i > 0) this.#order = [this.#order[i]!, ...this.#order.slice(0, i), ...this.#order.slice(i + 1)];
  }
}
