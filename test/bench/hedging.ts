// Scenario 3: LLM hedging, in process. The production adapters (buildProviders, env pointing at the fakes) behind
// streamAnswer, OpenAI on the 'slow' profile first and Anthropic 'realistic' second; time from the request to the
// first text, with and without hedgeAfterMs. Each request gets fresh breakers, so every one starts on the primary.
import { BreakerRegistry } from '../../worker/fallback/breaker.ts';
import { streamAnswer, type LlmChainOptions } from '../../worker/fallback/llm-chain.ts';
import { createLogger } from '../../worker/log.ts';
import { buildProviders } from '../../worker/providers/registry.ts';
import type { LlmRequest } from '../../worker/providers/types.ts';
import { startFakes } from '../e2e/console-support.ts';

export const HEDGE_REQUESTS = 20;
export const HEDGE_AFTER_MS = 300;
/** Requests in flight at once: the fakes only wait on timers, so this shortens the run without changing a figure. */
const CONCURRENCY = 4;
/** However a request goes, it is given up after this long (the slow profile's worst first token is 3 s). */
const REQUEST_BOUND_MS = 15_000;

const REQUEST: LlmRequest = {
  system: 'You are a helpful voice assistant. Answer in one short sentence.',
  messages: [{ role: 'user', text: 'what is the weather like today' }],
};

export interface FirstText {
  ms: number;
  provider: string;
}

export interface HedgingResult {
  unhedged: FirstText[];
  hedged: FirstText[];
}

async function timeToFirstText(options: LlmChainOptions): Promise<FirstText> {
  const stop = new AbortController();
  const bound = setTimeout(() => stop.abort(new Error(`no first text within ${REQUEST_BOUND_MS} ms`)), REQUEST_BOUND_MS);
  const started = performance.now();
  try {
    for await (const ev of streamAnswer(options, REQUEST, stop.signal)) {
      // Only the first text matters: leaving the loop cancels the stream (and any hedge still running).
      if (ev.type === 'text') return { ms: performance.now() - started, provider: ev.provider };
    }
    throw new Error('the answer ended without any text');
  } finally {
    clearTimeout(bound);
    stop.abort();
  }
}

/** Fresh fakes for each set: their jitter follows their request count, so both sets meet the same delays. */
async function measureSet(hedgeAfterMs: number | undefined): Promise<FirstText[]> {
  const fakes = await startFakes();
  try {
    fakes.openai.setProfile('slow');
    fakes.anthropic.setProfile('realistic');
    const chains = buildProviders(fakes.env, { stt: [], llm: ['openai', 'anthropic'], tts: [] }, createLogger({ level: 'silent' }));
    const results: FirstText[] = [];
    let next = 0;
    const worker = async () => {
      while (next < HEDGE_REQUESTS) {
        next++;
        const options: LlmChainOptions = { links: chains.llm, breakers: new BreakerRegistry(), ...(hedgeAfterMs !== undefined ? { hedgeAfterMs } : {}) };
        results.push(await timeToFirstText(options));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return results;
  } finally {
    await fakes.close();
  }
}

export async function runHedging(): Promise<HedgingResult> {
  return { unhedged: await measureSet(undefined), hedged: await measureSet(HEDGE_AFTER_MS) };
}
