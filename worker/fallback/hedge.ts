// LLM hedging: when the first provider has not produced anything after `afterMs`, start the next one alongside and
// keep whichever speaks first; the other is cancelled. A hedge that errors before speaking simply loses. A primary
// that the hedge outran (still silent when the rival spoke) timed out as far as the session is concerned: the engine
// counts it as a timeout, so a primary that keeps stalling opens its breaker and later turns skip the wait for it.
// A rival that lost to a primary answering late is only cancelled: it was asked in case, and did nothing wrong. A
// primary outrun before its usual time to first token was up (`outrunAfterMs`: a rival started early on a suspect
// primary, worker/fallback/hedge-delay.ts) is not judged by a race it was not given its fair time in: the caller hears
// the rival at once, and the primary, unheard, runs out its usual time before it is cancelled and judged.
import type { Attempt } from './attempt.ts';
import { ProviderError } from './errors.ts';

type First<C> = { attempt: Attempt<C>; result: IteratorResult<C> } | { attempt: Attempt<C>; error: unknown };

export interface HedgeResult<C> {
  /** The attempt to continue with; its stream starts with the chunk (or error) that decided the race. */
  winner: Attempt<C>;
  /** Attempts that failed before speaking, for the engine to record. */
  failed: { attempt: Attempt<C>; error: unknown }[];
  /** Rivals cancelled because the primary spoke first: neither success nor failure. */
  cancelled: Attempt<C>[];
  /** The primary, cancelled because the rival spoke while it was still silent: a timeout. */
  outrun?: { attempt: Attempt<C>; error: ProviderError };
  /**
   * The primary, outrun by a rival started early before its usual time was up: it runs that time out in the background,
   * unheard; `verdict` has an error if it stayed silent (a timeout) or failed, none if its first token came in time.
   */
  judging?: { attempt: Attempt<C>; verdict: Promise<{ error?: unknown }> };
}

function firstOf<C>(attempt: Attempt<C>): { iterator: AsyncIterator<C>; first: Promise<First<C>> } {
  const iterator = attempt.chunks()[Symbol.asyncIterator]();
  const first = iterator.next().then(
    (result) => ({ attempt, result }),
    (error: unknown) => ({ attempt, error }),
  );
  return { iterator, first };
}

/** An attempt whose stream replays the already-received first step, then continues. */
function resumed<C>(attempt: Attempt<C>, iterator: AsyncIterator<C>, first: First<C>): Attempt<C> {
  async function* replay(): AsyncGenerator<C> {
    if ('error' in first) throw first.error;
    if (first.result.done) return;
    yield first.result.value;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  const stream = replay();
  return { ...attempt, chunks: () => stream };
}

export interface HedgeTiming {
  /** The rival starts when the primary has produced nothing for this long. */
  afterMs: number;
  /** Still silent this long after its request when the rival spoke, the primary timed out; sooner, it is only cancelled. */
  outrunAfterMs?: number;
}

export async function hedgedFirst<C>(
  primary: Attempt<C>,
  startRival: () => Attempt<C> | undefined,
  timing: HedgeTiming,
): Promise<HedgeResult<C>> {
  const { afterMs } = timing;
  const startedAt = performance.now();
  const p = firstOf(primary);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<'hedge'>((resolve) => (timer = setTimeout(() => resolve('hedge'), afterMs)));
  const early = await Promise.race([p.first, deadline]);
  clearTimeout(timer);
  if (early !== 'hedge') return { winner: resumed(primary, p.iterator, early), failed: [], cancelled: [] };

  const rival = startRival();
  if (!rival) return { winner: resumed(primary, p.iterator, await p.first), failed: [], cancelled: [] };
  const r = firstOf(rival);
  const byAttempt = new Map<Attempt<C>, typeof p>([[primary, p], [rival, r]]);

  const winnerFirst = await Promise.race([p.first, r.first]);
  const other = winnerFirst.attempt === primary ? rival : primary;
  if ('error' in winnerFirst) {
    // The first to answer failed: the other one is all we have left.
    const otherFirst = await byAttempt.get(other)!.first;
    return { winner: resumed(other, byAttempt.get(other)!.iterator, otherFirst), failed: [{ attempt: winnerFirst.attempt, error: winnerFirst.error }], cancelled: [] };
  }
  const winner = resumed(winnerFirst.attempt, byAttempt.get(winnerFirst.attempt)!.iterator, winnerFirst);
  if (other === rival) {
    rival.abort(lostHedge(rival));
    return { winner, failed: [], cancelled: [rival] };
  }
  const outrunAfterMs = timing.outrunAfterMs ?? afterMs;
  const silentMs = performance.now() - startedAt;
  if (silentMs >= outrunAfterMs) {
    const error = timedOut(primary, silentMs);
    primary.abort(error);
    return { winner, failed: [], cancelled: [], outrun: { attempt: primary, error } };
  }
  return { winner, failed: [], cancelled: [], judging: { attempt: primary, verdict: judge(primary, p.first, outrunAfterMs - silentMs, startedAt) } };
}

function lostHedge(attempt: Attempt<unknown>): ProviderError {
  return new ProviderError(attempt.provider, 'timeout', 'lost the hedge: another provider answered first');
}

function timedOut(primary: Attempt<unknown>, silentMs: number): ProviderError {
  return new ProviderError(primary.provider, 'timeout', `no first token ${Math.round(silentMs)} ms after the request, and the hedge answered first`);
}

/** Lets an early-outrun primary run out its usual time: a first token in it clears it, silence or an error fails it. */
async function judge<C>(primary: Attempt<C>, first: Promise<First<C>>, remainingMs: number, startedAt: number): Promise<{ error?: unknown }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), remainingMs)));
  const outcome = await Promise.race([first, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    const error = timedOut(primary, performance.now() - startedAt);
    primary.abort(error);
    return { error };
  }
  primary.abort(lostHedge(primary));
  return 'error' in outcome ? { error: outcome.error } : {};
}
