// LLM hedging: when the first provider has not produced anything after `afterMs`, start the next one alongside and
// keep whichever speaks first; the other is cancelled. A hedge that errors before speaking simply loses. A primary
// that the hedge outran (still silent when the rival spoke) timed out as far as the session is concerned: the engine
// counts it as a timeout, so a primary that keeps stalling opens its breaker and later turns skip the wait for it.
// A rival that lost to a primary answering late is only cancelled: it was asked in case, and did nothing wrong.
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

export async function hedgedFirst<C>(
  primary: Attempt<C>,
  startRival: () => Attempt<C> | undefined,
  afterMs: number,
): Promise<HedgeResult<C>> {
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
  if (other === primary) {
    const error = new ProviderError(primary.provider, 'timeout', `no first token ${afterMs} ms after the request, and the hedge answered first`);
    primary.abort(error);
    return { winner, failed: [], cancelled: [], outrun: { attempt: primary, error } };
  }
  other.abort(new ProviderError(other.provider, 'timeout', 'lost the hedge: another provider answered first'));
  return { winner, failed: [], cancelled: [other] };
}
