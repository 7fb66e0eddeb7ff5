// Runs the real functions bundle (built by wrangler in test/global-setup.ts) inside workerd through Miniflare.
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { parse } from 'smol-toml';
import { TEST_LAUNCHER_TOKEN } from './local-launcher.ts';

export const FUNCTIONS_BUNDLE_DIR = path.resolve('.wrangler/test-build');

interface WranglerToml {
  compatibility_date: string;
  compatibility_flags?: string[];
}

function wranglerSettings(): WranglerToml {
  return parse(readFileSync(path.resolve('wrangler.toml'), 'utf8')) as unknown as WranglerToml;
}

export interface FunctionsHandle {
  /** Where workerd listens on 127.0.0.1 (no trailing slash), for HTTP clients that need a real URL, such as the worker's. */
  url: string;
  fetch(pathAndQuery: string, init?: RequestInit): Promise<Response>;
  /** Runs the cron handler as if it fired at `atMs`. */
  scheduled(atMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

/** `port`: where workerd listens (0, the default, picks a free one; a fixed one lets the bindings name it). */
export async function startFunctions(bindings: Record<string, string>, port = 0, options: { quiet?: boolean } = {}): Promise<FunctionsHandle> {
  const settings = wranglerSettings();
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(FUNCTIONS_BUNDLE_DIR, 'index.js'),
    compatibilityDate: settings.compatibility_date,
    compatibilityFlags: settings.compatibility_flags ?? [],
    bindings,
    // Explicit loopback and a free port: `ready` then gives the address real HTTP clients can reach.
    host: '127.0.0.1',
    port,
    // Quiet: the functions' log lines are dropped (a benchmark prints tables on this process's stdout).
    ...(options.quiet ? { handleRuntimeStdio: (out: Readable, err: Readable) => (out.resume(), err.resume()) } : {}),
  });
  const url = (await mf.ready).origin;
  return {
    url,
    async fetch(pathAndQuery, init) {
      // Miniflare's fetch types are undici's; a plain RequestInit is what callers have.
      const res = await mf.dispatchFetch(`http://functions.test${pathAndQuery}`, init as never);
      return res as unknown as Response;
    },
    async scheduled(atMs = Date.now()) {
      const worker = (await mf.getWorker()) as unknown as {
        scheduled(options: { scheduledTime: Date; cron: string }): Promise<{ outcome: string }>;
      };
      const result = await worker.scheduled({ scheduledTime: new Date(atMs), cron: '* * * * *' });
      if (result.outcome !== 'ok') throw new Error(`scheduled handler ended with outcome ${result.outcome}`);
    },
    async dispose() {
      await mf.dispose();
    },
  };
}

/** Bindings for tests: the dev defaults of .dev.vars.example, pointed at this test's servers. */
export function testBindings(overrides: Record<string, string>): Record<string, string> {
  return {
    LIVEKIT_URL: 'ws://127.0.0.1:9',
    LIVEKIT_API_KEY: 'devkey',
    LIVEKIT_API_SECRET: 'secret',
    APP_API_KEYS: 'test-app-key-1,test-app-key-2',
    OPERATOR_API_KEYS: 'test-operator-key-0001',
    // /metrics open without a token, as in local development.
    ENVIRONMENT: 'development',
    WORKER_TOKEN_SECRET: 'test-worker-token-secret-of-enough-length',
    FUNCTIONS_PUBLIC_URL: 'http://127.0.0.1:8787',
    LAUNCHER: 'local',
    LOCAL_LAUNCHER_URL: 'http://127.0.0.1:9',
    LOCAL_LAUNCHER_TOKEN: TEST_LAUNCHER_TOKEN,
    ...overrides,
  };
}
