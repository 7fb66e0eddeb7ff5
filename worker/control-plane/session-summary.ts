// Everything the reporter saw in this session, kept locally for the console report: the latest records (bounded, with
// a count of what no longer fits) and running totals that are never trimmed.
import type { ProviderOutcome, TurnTiming } from '../../functions/contract.ts';

export class RecentList<T> {
  readonly #limit: number;
  #items: T[] = [];
  #omitted = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.#limit) {
      this.#items.shift();
      this.#omitted += 1;
    }
  }

  get items(): readonly T[] {
    return this.#items;
  }

  /** Older entries that were let go to stay within the limit. */
  get omitted(): number {
    return this.#omitted;
  }
}

export interface ProviderTally {
  attempts: number;
  failures: number;
}

export class SessionRecords {
  readonly outcomes: RecentList<ProviderOutcome>;
  readonly turns: RecentList<TurnTiming>;
  /** Attempts and failures per `modality:provider`, over the whole session. */
  readonly byProvider = new Map<string, ProviderTally>();
  historyMessages = 0;
  invalidRecords = 0;

  constructor(limit: number) {
    this.outcomes = new RecentList(limit);
    this.turns = new RecentList(limit);
  }

  addOutcome(outcome: ProviderOutcome): void {
    this.outcomes.add(outcome);
    const id = `${outcome.modality}:${outcome.provider}`;
    const tally = this.byProvider.get(id) ?? { attempts: 0, failures: 0 };
    tally.attempts += 1;
    if (!outcome.ok) tally.failures += 1;
    this.byProvider.set(id, tally);
  }
}
