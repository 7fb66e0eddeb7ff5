// The one fallback engine behind STT, LLM and TTS. It walks an ordered chain of providers: each attempt is watched
// (first-chunk deadline, stall watchdog), failures are classified, breakers are consulted and fed, every attempt
// leaves an outcome record, and the next provider is started when one fails. What the next provider is asked to do
// (same request, or "continue from here") is the modality's business: `start` is called with the provider and the
// caller tracks progress from the chunks it received.
import type { Modality, ProviderOutcome } from '../../functions/contract.ts';
import { BreakerRegistry } from './breaker.ts';
import { ChainExhaustedError, ProviderError, classifyTransportError } from './errors.ts';
import { startAttempt, type Attempt } from './attempt.ts';
import { hedgedFirst, type HedgeTiming } from './hedge.ts';
import type { WatchPolicy } from './watchdog.ts';

export interface Link<P> {
  name: string;
  provider: P;
}

export interface Usage {
  tokens?: number;
  characters?: number;
  audioMs?: number;
}

export type ChainEvent<C> =
  | { type: 'chunk'; provider: string; chunk: C }
  /** `to` is null when no provider is left. */
  | { type: 'failover'; from: string; to: string | null; error: ProviderError };

export interface RunChainOptions<P, C> {
  modality: Modality;
  links: readonly Link<P>[];
  breakers: BreakerRegistry;
  policy: WatchPolicy;
  signal: AbortSignal;
  start(link: Link<P>, signal: AbortSignal): AsyncIterable<C>;
  /** Vendor-specific errors are classified by the adapters; anything else that escapes is a transport failure. */
  classify?(provider: string, err: unknown): ProviderError;
  /** Which chunks count as the first byte/token/result for ttfb (default: any). */
  isContent?(chunk: C): boolean;
  measure?(chunk: C): Usage;
  onOutcome?(outcome: ProviderOutcome): void;
  /**
   * LLM hedging: when the first provider has no first chunk after this many ms, start the next one alongside. A
   * function gets the first provider's name (the delay may be its own, with the time after which its silence counts
   * as a timeout); undefined there means no hedging.
   */
  hedgeAfterMs?: number | ((primary: string) => number | HedgeTiming | undefined);
  /** A primary a rival spoke before while its usual time to first token was not yet up, and which answered within it. */
  onOvertaken?(provider: string): void;
  now?(): number;
}

/** Providers to try, in order: the breaker decides; when every one is open, the one soonest out of cool-down. */
function admitted<P>(links: readonly Link<P>[], breakers: BreakerRegistry, tried: Set<string>): Link<P> | undefined {
  const candidates = links.filter((l) => !tried.has(l.name));
  const open = candidates.find((l) => breakers.tryAcquire(l.name));
  if (open) return open;
  if (tried.size > 0) return undefined;
  const lastResort = candidates
    .filter((l) => breakers.state(l.name) !== 'disabled')
    .sort((a, b) => breakers.msUntilRetry(a.name) - breakers.msUntilRetry(b.name))[0];
  if (lastResort) breakers.forceAcquire(lastResort.name);
  return lastResort;
}

function hedgeTimingFor(setting: RunChainOptions<unknown, unknown>['hedgeAfterMs'], primary: string): HedgeTiming | undefined {
  const value = typeof setting === 'function' ? setting(primary) : setting;
  return typeof value === 'number' ? { afterMs: value } : value;
}

export async function* runChain<P, C>(options: RunChainOptions<P, C>): AsyncGenerator<ChainEvent<C>> {
  const { breakers, signal } = options;
  const classify = options.classify ?? classifyTransportError;
  const tried = new Set<string>();
  const failures: ProviderError[] = [];
  const begin = (link: Link<P>): Attempt<C> => {
    tried.add(link.name);
    return startAttempt(link.name, options, (s) => options.start(link, s));
  };

  const fail = (attempt: Attempt<C>, err: unknown): ProviderError => {
    const error = err instanceof ProviderError ? err : classify(attempt.provider, err);
    failures.push(error);
    breakers.failure(attempt.provider, error.errorClass, error.retryAfterMs);
    options.onOutcome?.(attempt.outcome(false, error));
    return error;
  };

  let current = admitted(options.links, breakers, tried);
  let leftAtFailover = false;
  while (current) {
    let attempt = begin(current);
    const hedgeTiming = failures.length === 0 ? hedgeTimingFor(options.hedgeAfterMs, current.name) : undefined;
    if (hedgeTiming !== undefined) {
      const hedge = await hedgedFirst(attempt, () => {
        const next = admitted(options.links, breakers, tried);
        return next ? begin(next) : undefined;
      }, hedgeTiming);
      for (const lost of hedge.cancelled) {
        breakers.release(lost.provider);
        lost.dispose();
      }
      if (hedge.judging) {
        const judged = hedge.judging.attempt;
        void hedge.judging.verdict.then(({ error }) => {
          // The caller gave up meanwhile (barge-in, shutdown): that ended it, not the provider.
          if (error !== undefined && !signal.aborted) fail(judged, error);
          else {
            breakers.release(judged.provider);
            if (error === undefined) options.onOvertaken?.(judged.provider);
          }
          judged.dispose();
        });
      }
      // Not a failover (the answer never failed), but the primary did time out: its breaker and health hear of it.
      if (hedge.outrun) {
        fail(hedge.outrun.attempt, hedge.outrun.error);
        hedge.outrun.attempt.dispose();
      }
      for (const { attempt: failed, error } of hedge.failed) {
        const classified = fail(failed, error);
        failed.dispose();
        yield { type: 'failover', from: failed.provider, to: hedge.winner.provider, error: classified };
      }
      attempt = hedge.winner;
    }
    try {
      for await (const chunk of attempt.chunks()) yield { type: 'chunk', provider: attempt.provider, chunk };
      breakers.success(attempt.provider);
      options.onOutcome?.(attempt.outcome(true));
      return;
    } catch (err) {
      if (signal.aborted) {
        // The caller gave up (barge-in, shutdown): not the provider's fault, nothing to learn.
        breakers.release(attempt.provider);
        throw err;
      }
      const error = fail(attempt, err);
      current = admitted(options.links, breakers, tried);
      leftAtFailover = true;
      yield { type: 'failover', from: attempt.provider, to: current?.name ?? null, error };
      leftAtFailover = false;
    } finally {
      attempt.dispose();
      // The consumer stopped at the failover (TTS with nothing left to say): the next provider was admitted but is
      // never tried, and a half-open breaker's one probe must not stay taken for good.
      if (leftAtFailover && current) breakers.release(current.name);
    }
  }
  throw new ChainExhaustedError(options.modality, failures);
}
