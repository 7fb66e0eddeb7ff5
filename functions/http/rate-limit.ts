// Token issuance limits per application key and per client IP, on the same Redis. Fails open: a Redis outage must
// not stop people from joining calls, so an unreachable limiter allows the request and says so in the log.
import { Ratelimit } from '@upstash/ratelimit';
import type { Deps } from '../deps.ts';
import { keys } from '../redis/keys.ts';
import { describeError, log } from '../observability/log.ts';

export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
  limitedBy?: 'key' | 'ip';
  failedOpen: boolean;
}

interface Limiters {
  perKey: Ratelimit;
  perIp: Ratelimit;
}

const cache = new WeakMap<Deps['redis'], Limiters>();

function limiters(deps: Deps): Limiters {
  let l = cache.get(deps.redis);
  if (!l) {
    const common = {
      redis: deps.redis,
      prefix: keys.rateLimitPrefix(),
      analytics: false,
      // The limiter's own deadline: past it the request is allowed rather than kept waiting.
      timeout: deps.config.redis.timeoutMs,
    };
    l = {
      perKey: new Ratelimit({ ...common, limiter: Ratelimit.slidingWindow(deps.config.rateLimit.perKeyPerMinute, '60 s') }),
      perIp: new Ratelimit({ ...common, limiter: Ratelimit.slidingWindow(deps.config.rateLimit.perIpPerMinute, '60 s') }),
    };
    cache.set(deps.redis, l);
  }
  return l;
}

export async function checkTokenRateLimit(deps: Deps, appKeyId: string, clientIp: string): Promise<RateDecision> {
  const { perKey, perIp } = limiters(deps);
  try {
    const [byKey, byIp] = await Promise.all([perKey.limit(`token:key:${appKeyId}`), perIp.limit(`token:ip:${clientIp}`)]);
    deps.waitUntil(Promise.allSettled([byKey.pending, byIp.pending]));
    const failedOpen = byKey.reason === 'timeout' || byIp.reason === 'timeout';
    if (failedOpen) log('warn', 'rate_limit_failed_open', { reason: 'timeout' });
    const blocked = !byKey.success ? byKey : !byIp.success ? byIp : undefined;
    if (!blocked) return { allowed: true, retryAfterSeconds: 0, failedOpen };
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((blocked.reset - deps.nowMs()) / 1000)),
      limitedBy: blocked === byKey ? 'key' : 'ip',
      failedOpen,
    };
  } catch (err) {
    log('warn', 'rate_limit_failed_open', { reason: describeError(err) });
    return { allowed: true, retryAfterSeconds: 0, failedOpen: true };
  }
}
