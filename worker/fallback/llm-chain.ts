// The LLM chain: one answer, streamed token by token, surviving any provider failing at any point. Nothing
// delivered yet → the next provider answers the same request; text already delivered (maybe already spoken) → the
// next provider continues that text (`continueFrom`), and any repeat it makes of it is cut, so the caller never
// hears a sentence twice and the history keeps one coherent answer.
import type { ProviderOutcome } from '../../functions/contract.ts';
import type { LlmEvent, LlmProvider, LlmRequest, LlmUsage } from '../providers/types.ts';
import type { BreakerRegistry } from './breaker.ts';
import type { ProviderError } from './errors.ts';
import type { HedgeDelays } from './hedge-delay.ts';
import { runChain, type Link } from './fallback.ts';
import type { WatchPolicy } from './watchdog.ts';
import { releasable, stripRepeat } from './word-safe.ts';

// A streaming model that goes quiet for 2 s mid-answer is stuck, not thinking: the caller is already waiting.
export const DEFAULT_LLM_POLICY: WatchPolicy = { firstChunkTimeoutMs: 4_000, stallTimeoutMs: 2_000 };

export interface LlmChainOptions {
  links: readonly Link<LlmProvider>[];
  breakers: BreakerRegistry;
  policy?: WatchPolicy;
  /** A fixed hedge delay (tests, benchmarks); `hedge` wins when both are given. */
  hedgeAfterMs?: number;
  /** Per-primary hedge delays that learn from this chain's own first tokens (worker/fallback/hedge-delay.ts). */
  hedge?: HedgeDelays;
  onOutcome?(outcome: ProviderOutcome): void;
}

export type AnswerEvent =
  | { type: 'text'; text: string; provider: string }
  | { type: 'failover'; from: string; to: string | null; error: ProviderError; delivered: number }
  | { type: 'done'; text: string; provider: string; finishReason: string; usage?: LlmUsage };

// Enough of a continuation's start to recognise a repeat of the delivered text's tail.
const REPEAT_WINDOW_CHARS = 40;

/** Roughly how many tokens a text is (English averages about four characters a token). */
const CHARS_PER_TOKEN = 4;
/** A continuation may always finish its sentence, however little of the cap is left. */
const MIN_CONTINUATION_TOKENS = 16;

/** The same answer, carried on from `delivered`: the cap is the answer's, so the continuation gets what is left of it. */
function continuation(request: LlmRequest, delivered: string): LlmRequest {
  const next: LlmRequest = { ...request, continueFrom: delivered };
  if (request.maxTokens !== undefined) {
    const spent = Math.ceil(delivered.length / CHARS_PER_TOKEN);
    next.maxTokens = Math.max(MIN_CONTINUATION_TOKENS, request.maxTokens - spent);
  }
  return next;
}

export async function* streamAnswer(options: LlmChainOptions, request: LlmRequest, signal: AbortSignal): AsyncGenerator<AnswerEvent> {
  const { hedge } = options;
  let delivered = '';
  let held = '';
  // A continuation's first characters wait here until they can be compared with what was delivered.
  let judging: string | null = null;

  const release = function* (text: string, provider: string, final: boolean): Generator<AnswerEvent> {
    const out = releasable(held + text);
    held = final ? '' : out.held;
    const ready = final ? out.ready + out.held : out.ready;
    if (ready) {
      delivered += ready;
      yield { type: 'text', text: ready, provider };
    }
  };

  for await (const ev of runChain<LlmProvider, LlmEvent>({
    modality: 'llm',
    links: options.links,
    breakers: options.breakers,
    policy: options.policy ?? DEFAULT_LLM_POLICY,
    signal,
    hedgeAfterMs: hedge ? (primary) => hedge.timing(primary) : options.hedgeAfterMs,
    onOvertaken: (provider) => hedge?.overtaken(provider),
    onOutcome: (outcome) => {
      hedge?.observe(outcome);
      options.onOutcome?.(outcome);
    },
    isContent: (c) => c.type === 'text' && c.text.length > 0,
    measure: (c) => (c.type === 'end' ? { tokens: c.usage?.outputTokens ?? 0 } : {}),
    start: (link, s) => link.provider.stream(delivered ? continuation(request, delivered) : request, s),
  })) {
    if (ev.type === 'failover') {
      // Held text never reached anyone: the next provider will produce it again.
      held = '';
      judging = delivered ? '' : null;
      yield { ...ev, delivered: delivered.length };
      continue;
    }
    const chunk = ev.chunk;
    if (chunk.type === 'text') {
      if (judging !== null) {
        judging += chunk.text;
        if (judging.length < REPEAT_WINDOW_CHARS) continue;
        const fresh = stripRepeat(delivered, judging);
        judging = null;
        yield* release(fresh, ev.provider, false);
        continue;
      }
      yield* release(chunk.text, ev.provider, false);
    } else {
      if (judging !== null) {
        yield* release(stripRepeat(delivered, judging), ev.provider, true);
        judging = null;
      } else {
        yield* release('', ev.provider, true);
      }
      yield { type: 'done', text: delivered, provider: ev.provider, finishReason: chunk.finishReason, ...(chunk.usage ? { usage: chunk.usage } : {}) };
    }
  }
}
