// The launcher passes a worker only allow-listed variables: a setting the worker reads but the list lacks would be
// silently dropped on its way to every launched worker (the setting would work in the console and nowhere else).
import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_ENV_NAMES, isForbiddenWorkerEnv } from '../../infra/local/launcher/worker-env.ts';
import { SETTING_NAMES } from '../../worker/config.ts';

describe("the launcher's default worker environment", () => {
  it("passes every setting the worker reads, except what the launch itself provides", () => {
    const fromLaunch = new Set(['ROOM', 'SESSION_ID', 'FUNCTIONS_URL', 'WORKER_BOOTSTRAP_TOKEN', 'HEALTH_PORT']);
    const missing = SETTING_NAMES.filter((name) => !fromLaunch.has(name) && !DEFAULT_WORKER_ENV_NAMES.includes(name));
    expect(missing).toEqual([]);
  });

  it('holds no name the launcher refuses to pass', () => {
    expect(DEFAULT_WORKER_ENV_NAMES.filter(isForbiddenWorkerEnv)).toEqual([]);
  });
});
