// A whole control plane for tests: real Redis behind the Upstash stand-in, a fake LiveKit RoomService, the real
// local launcher process with a recording stand-in worker, and the functions bundle in workerd.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from '@upstash/redis';
import { startFunctions, testBindings, type FunctionsHandle } from './functions.ts';
import { startFakeRoomService, type FakeRoomService } from './livekit.ts';
import { RECORDING_WORKER_COMMAND, startLocalLauncher, type RunningLauncher } from './local-launcher.ts';
import { startUpstashStack, type UpstashStack } from './redis.ts';

export interface ControlPlane {
  stack: UpstashStack;
  livekit: FakeRoomService;
  launcher: RunningLauncher;
  fn: FunctionsHandle;
  /** Reads what the functions wrote, as any Upstash client would (no auto-parsing: we check raw fields). */
  redis: Redis;
  workerOutDir: string;
  /** Environments recorded by the stand-in workers the launcher started, by pid. */
  workerEnvs(): { pid: number; env: Record<string, string> }[];
  stoppedWorkerPids(): number[];
  close(): Promise<void>;
}

export async function startControlPlane(overrides: Record<string, string> = {}): Promise<ControlPlane> {
  const stack = await startUpstashStack();
  const livekit = await startFakeRoomService();
  const workerOutDir = mkdtempSync(join(tmpdir(), 'voice-workers-'));
  const launcher = await startLocalLauncher({
    LOCAL_WORKER_COMMAND: RECORDING_WORKER_COMMAND,
    FIXTURE_OUT_DIR: workerOutDir,
    LOCAL_LAUNCHER_STOP_GRACE_MS: '1000',
  });
  const fn = await startFunctions(
    testBindings({
      UPSTASH_REDIS_REST_URL: stack.restUrl,
      UPSTASH_REDIS_REST_TOKEN: stack.token,
      LIVEKIT_URL: livekit.url.replace('http', 'ws'),
      LOCAL_LAUNCHER_URL: launcher.url,
      ...overrides,
    }),
  );
  const redis = new Redis({ url: stack.restUrl, token: stack.token, automaticDeserialization: false });
  return {
    stack,
    livekit,
    launcher,
    fn,
    redis,
    workerOutDir,
    workerEnvs: () =>
      readdirSync(workerOutDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(join(workerOutDir, f), 'utf8')) as { pid: number; env: Record<string, string> }),
    stoppedWorkerPids: () => readdirSync(workerOutDir).filter((f) => f.endsWith('.stopped')).map((f) => Number(f.split('.')[0])),
    async close() {
      await fn.dispose().catch(() => undefined);
      await launcher.stop();
      await livekit.close();
      await stack.stop();
      rmSync(workerOutDir, { recursive: true, force: true });
    },
  };
}

export async function postWebhook(fn: FunctionsHandle, body: string, authorization?: string): Promise<Response> {
  return fn.fetch('/v1/webhooks/livekit', {
    method: 'POST',
    headers: { 'content-type': 'application/webhook+json', ...(authorization ? { authorization } : {}) },
    body,
  });
}
