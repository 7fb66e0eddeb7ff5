// What a dropped speculative answer cost. Its LLM stream was cut before its end, so the chain recorded no outcome for
// it (an abort is nobody's fault and teaches the health scores nothing), yet its tokens were paid for all the same:
// they go into the outcomes, estimated from the text delivered (as the chain budgets a continuation).
import type { ProviderOutcome } from '../../functions/contract.ts';
import type { AnswerResult } from './answer.ts';

/** Roughly how many characters a token is (English). */
const CHARS_PER_TOKEN = 4;

/** The outcome to record for a dropped answer, or undefined when the chain recorded one (it finished) or nothing came. */
export function droppedAnswerCost(result: AnswerResult, durationMs: number, startedAtEpochMs: number): ProviderOutcome | undefined {
  if (result.llmDone || !result.generated || !result.providers.llm) return undefined;
  return {
    modality: 'llm',
    provider: result.providers.llm,
    ok: true,
    ...(result.llmTtftMs !== undefined ? { ttfbMs: result.llmTtftMs } : {}),
    durationMs,
    tokens: Math.ceil(result.generated.length / CHARS_PER_TOKEN),
    atMs: Math.round(startedAtEpochMs),
  };
}
