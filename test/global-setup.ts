// Builds the functions bundle once per test run, exactly as `wrangler deploy` would, for the workerd-based tests.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FUNCTIONS_BUNDLE_DIR } from './support/functions.ts';

export default async function setup(): Promise<void> {
  await promisify(execFile)('wrangler', ['deploy', '--dry-run', '--outdir', FUNCTIONS_BUNDLE_DIR], {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG: 'warn' },
    timeout: 120_000,
  });
}
