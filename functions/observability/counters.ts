// Monotonic counters for GET /metrics, kept in one Redis hash so every isolate adds to the same totals.
// A field is the Prometheus series itself (`name{label="value"}`), so exposition needs no schema.
import type { Deps } from '../deps.ts';
import { keys } from '../redis/keys.ts';
import { describeError, log } from './log.ts';

export type Labels = Record<string, string>;

export const METRIC_PREFIX = 'voice_';

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function seriesName(name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabelValue(labels[k] ?? '')}"`);
  return `${METRIC_PREFIX}${name}${parts.length ? `{${parts.join(',')}}` : ''}`;
}

export async function count(deps: Pick<Deps, 'redis'>, name: string, labels: Labels, by = 1): Promise<void> {
  try {
    await deps.redis.hincrby(keys.counters(), seriesName(name, labels), by);
  } catch (err) {
    // Counters are observability, not state: losing one while Redis is down is acceptable, crashing is not.
    log('debug', 'counter_lost', { name, reason: describeError(err) });
  }
}

/** Counts after the response: never on the request's critical path. */
export function countLater(deps: Pick<Deps, 'redis' | 'waitUntil'>, name: string, labels: Labels, by = 1): void {
  deps.waitUntil(count(deps, name, labels, by));
}
