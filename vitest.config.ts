import { defineConfig } from 'vitest/config';

// Every test runs in Node; tests of the functions drive the real bundle inside workerd through Miniflare
// (test/support/functions.ts), next to real redis-server, the Upstash REST stand-in and local fake servers.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only make the workerd and redis-server processes fight for CPU.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
