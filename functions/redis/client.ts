// The control plane's only way to Redis: Upstash's REST protocol, bounded in time so a dead Redis never hangs a request.
import { Redis } from '@upstash/redis/cloudflare';
import type { Config } from '../config.ts';

export function createRedis(config: Config['redis']): Redis {
  return new Redis({
    url: config.url,
    token: config.token,
    // A fresh deadline per request: a shared signal would be spent after the first timeout.
    signal: () => AbortSignal.timeout(config.timeoutMs),
    // Our callers degrade (fail open, static order) instead of waiting through the SDK's backoff.
    retry: false,
    enableTelemetry: false,
    // Our values are parsed by our own schemas: auto-parsing would turn a room named "1e5" into the number 100000.
    automaticDeserialization: false,
  });
}

export type { Redis };
