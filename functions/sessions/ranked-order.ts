// The provider order handed to a new worker: health-ranked when Redis answers, the configured priority when not.
import type { ProviderOrder } from '../contract.ts';
import type { Deps } from '../deps.ts';
import { rankAll } from '../health/ranking.ts';
import { readHealth } from '../health/scores.ts';
import { describeError, log } from '../observability/log.ts';

export async function rankedProviderOrder(deps: Deps): Promise<{ order: ProviderOrder; source: 'health' | 'static' }> {
  try {
    const health = await readHealth(deps.redis, deps.nowMs(), deps.config.healthPolicy);
    return { order: rankAll(deps.config.providerPriority, health, deps.config.healthPolicy).order, source: 'health' };
  } catch (err) {
    log('warn', 'ranking_unavailable', { reason: describeError(err) });
    return { order: deps.config.providerPriority, source: 'static' };
  }
}
