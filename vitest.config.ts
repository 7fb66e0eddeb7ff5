import { defineConfig } from 'vitest/config';

// Files that load the whole machine (ten rooms at once, a CPU emulated) or that a loaded machine starves (a browser
// waiting for its agent, the whole dev stack) run after everything else, one at a time, so that no test measures its
// neighbour.
const ALONE = [
  'test/e2e/livekit-cli.test.ts',
  'test/e2e/talk-page.test.ts',
  'test/e2e/dev-stack.test.ts',
  'test/worker/end-of-turn/emulated-cpu.test.ts',
];

// Every test runs in Node; tests of the functions drive the real bundle inside workerd through Miniflare
// (test/support/functions.ts), next to real redis-server, the Upstash REST stand-in and local fake servers.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only make the workerd and redis-server processes fight for CPU.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'together', include: ['test/**/*.test.ts'], exclude: ALONE, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
