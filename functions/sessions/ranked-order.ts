// The provider order handed to a new worker: health-ranked when Redis answers, the configured priority when not.
// A ranked order carries the providers' measured first-byte latency too (the worker's LLM hedge delay comes from it).
import type { ProviderOrder } from '../contract.ts';
import type { Deps } from '../deps.ts';
import { firstByteLatencies } from '../health/first-byte.ts';
import { rankAll } from '../health/ranking.ts';
import { readHealth } from '../health/scores.ts';
import { describeError, log } from '../observability/log.ts';

export async function rankedProviderOrder(deps: Deps): Promise<{ order: ProviderOrder; source: 'health' | 'static' }> {
  try {
    const health = await readHealth(deps.redis, deps.nowMs(), deps.config.healthPolicy);
    const { order } = rankAll(deps.config.providerPriority, health, deps.config.healthPolicy);
    const firstByte = firstByteLatencies(order, health);
    return { order: firstByte ? { ...order, firstByte } : order, source: 'health' };
  } catch (err) {
    log('warn', 'ranking_unavailable', { reason: describeError(err) });
    return { order: deps.config.providerPriority, source: 'static' };
  }
}
