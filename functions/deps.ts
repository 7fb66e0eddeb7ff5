// What a request or a cron run needs, built once per configuration and shared across requests of an isolate.
import type { Config } from './config.ts';
import { createLauncher } from './launchers/create.ts';
import type { Launcher } from './launchers/types.ts';
import { createRedis, type Redis } from './redis/client.ts';

export interface Deps {
  config: Config;
  redis: Redis;
  launcher: Launcher;
  /** Keeps background work (launches, counters) alive after the response is sent. */
  waitUntil: (work: Promise<unknown>) => void;
  nowMs: () => number;
}

interface Shared {
  redis: Redis;
  launcher: Launcher;
}

const shared = new WeakMap<Config, Shared>();

export function buildDeps(config: Config, waitUntil: Deps['waitUntil'], nowMs: () => number = Date.now): Deps {
  let s = shared.get(config);
  if (!s) {
    s = { redis: createRedis(config.redis), launcher: createLauncher(config.launcher) };
    shared.set(config, s);
  }
  return { config, redis: s.redis, launcher: s.launcher, waitUntil, nowMs };
}
