// A whole control plane for tests: real Redis behind the Upstash stand-in, a fake LiveKit RoomService, the real
// local launcher process with a recording stand-in worker, and the functions bundle in workerd.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from '@upstash/redis';
import { toFieldMap } from '../../functions/redis/hash.ts';
import { startFunctions, testBindings, type FunctionsHandle } from './functions.ts';
import { startFakeRoomService, type FakeRoomService } from './livekit.ts';
import { RECORDING_WORKER_COMMAND, startLocalLauncher, type RunningLauncher } from './local-launcher.ts';
import type { WorkerBootstrap } from '../../functions/contract.ts';
import { startUpstashStack, type UpstashStack } from './redis.ts';
import { closedPort } from '../fakes/kit/server.ts';

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
  const workerOutDir = mkdtempSync(join(tmpdir(), 'voice-workers-'));
  const launcher = await startLocalLauncher(recordingLauncherEnv(workerOutDir));
  return { ...(await assemble(workerOutDir, launcher.url, overrides, () => launcher)), launcher };
}

/** A control plane whose launcher is not running yet: the functions point at a free port where nothing listens. */
export interface ControlPlaneWithLauncherDown extends Omit<ControlPlane, 'launcher'> {
  launcherPort: number;
  /** The launcher once startLauncher() ran; undefined before. */
  readonly launcher: RunningLauncher | undefined;
  /** Starts the real local launcher on launcherPort (the one LOCAL_LAUNCHER_URL names). */
  startLauncher(): Promise<RunningLauncher>;
}

export async function startControlPlaneWithLauncherDown(overrides: Record<string, string> = {}): Promise<ControlPlaneWithLauncherDown> {
  const workerOutDir = mkdtempSync(join(tmpdir(), 'voice-workers-'));
  const launcherPort = await closedPort();
  let launcher: RunningLauncher | undefined;
  const base = await assemble(workerOutDir, `http://127.0.0.1:${launcherPort}`, overrides, () => launcher);
  return {
    ...base,
    launcherPort,
    get launcher() {
      return launcher;
    },
    async startLauncher() {
      launcher ??= await startLocalLauncher({ ...recordingLauncherEnv(workerOutDir), LOCAL_LAUNCHER_PORT: String(launcherPort) });
      return launcher;
    },
  };
}


function recordingLauncherEnv(workerOutDir: string): Record<string, string> {
  return {
    LOCAL_WORKER_COMMAND: RECORDING_WORKER_COMMAND,
    FIXTURE_OUT_DIR: workerOutDir,
    LOCAL_LAUNCHER_STOP_GRACE_MS: '1000',
    // Stand-in workers wait for SIGTERM: a test file with many rooms keeps many running.
    LOCAL_LAUNCHER_MAX_TASKS: '60',
  };
}

async function assemble(
  workerOutDir: string,
  launcherUrl: string,
  overrides: Record<string, string>,
  currentLauncher: () => RunningLauncher | undefined,
): Promise<Omit<ControlPlane, 'launcher'>> {
  const stack = await startUpstashStack();
  const livekit = await startFakeRoomService();
  const fn = await startFunctions(
    testBindings({
      UPSTASH_REDIS_REST_URL: stack.restUrl,
      UPSTASH_REDIS_REST_TOKEN: stack.token,
      LIVEKIT_URL: livekit.url.replace('http', 'ws'),
      LOCAL_LAUNCHER_URL: launcherUrl,
      ...overrides,
    }),
  );
  const redis = new Redis({ url: stack.restUrl, token: stack.token, automaticDeserialization: false });
  return {
    stack,
    livekit,
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
      await currentLauncher()?.stop();
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

/** Another functions instance over the same Redis, LiveKit and launcher, with other bindings (e.g. METRICS_TOKEN). */
export async function startSiblingFunctions(cp: ControlPlane, overrides: Record<string, string>): Promise<FunctionsHandle> {
  return startFunctions(
    testBindings({
      UPSTASH_REDIS_REST_URL: cp.stack.restUrl,
      UPSTASH_REDIS_REST_TOKEN: cp.stack.token,
      LIVEKIT_URL: cp.livekit.url.replace('http', 'ws'),
      LOCAL_LAUNCHER_URL: cp.launcher.url,
      ...overrides,
    }),
  );
}

/** The session hash the functions stored, as raw fields; null when there is none. */
export async function sessionFields(redis: Redis, sessionId: string): Promise<Record<string, string> | null> {
  return toFieldMap(await redis.hgetall(`session:${sessionId}`));
}

/** The id of the session holding a room incarnation (webhookBody's default sid is `RM_<name>`). */
export async function sessionIdOfRoom(redis: Redis, room: string, sid = `RM_${room}`): Promise<string | null> {
  return (await redis.get<string>(`room:${sid}:session`)) ?? null;
}

/** Operator key of testBindings: sessions, providers, deep health. */
export const OPERATOR_KEY = 'test-operator-key-0001';
export const operatorAuth = { authorization: `Bearer ${OPERATOR_KEY}` };

/** What a launched worker does first: trade its single-use WORKER_BOOTSTRAP_TOKEN for its session token and room token. */
export async function bootstrapWorker(fn: FunctionsHandle, env: Record<string, string>): Promise<WorkerBootstrap> {
  const res = await fn.fetch('/v1/worker/bootstrap', {
    method: 'POST',
    headers: { authorization: `Bearer ${env.WORKER_BOOTSTRAP_TOKEN ?? ''}`, 'content-type': 'application/json' },
    body: '{}',
  });
  if (res.status !== 200) throw new Error(`POST /v1/worker/bootstrap answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as WorkerBootstrap;
}

/** What a media worker sends with the token it was launched with. */
export async function postWorkerStatus(
  fn: FunctionsHandle,
  workerToken: string,
  report: { status: string; reason?: string },
): Promise<Response> {
  return fn.fetch('/v1/worker/status', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${workerToken}` },
    body: JSON.stringify(report),
  });
}

/**
 * The env a stand-in worker recorded, once its recording is complete; undefined before. The worker writes its
 * recording while tests poll for it, so a file that does not parse yet counts as not written.
 */
export function recordedWorkerEnv(cp: Pick<ControlPlane, 'workerOutDir'>, pid: number | null): Record<string, string> | undefined {
  if (pid === null) return undefined;
  try {
    return (JSON.parse(readFileSync(join(cp.workerOutDir, `${pid}.json`), 'utf8')) as { env: Record<string, string> }).env;
  } catch {
    return undefined;
  }
}

/** An HTTP pass-through that can hold requests, to put another event between a request and its answer. */
export interface HoldingProxy {
  url: string;
  /** Where requests go; set it once the target is up. */
  target: string;
  /** While true, requests wait (bounded by close()) until release(). */
  holding: boolean;
  /** Requests waiting now. */
  readonly held: number;
  release(): void;
  close(): Promise<void>;
}

export async function startHoldingProxy(target = ''): Promise<HoldingProxy> {
  let waiting: (() => void)[] = [];
  const state = { target, holding: false };
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (state.holding) await new Promise<void>((resume) => waiting.push(resume));
      try {
        const headers = Object.fromEntries(
          Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' && k !== 'host' && k !== 'content-length' ? [[k, v]] : [])),
        );
        const upstream = await fetch(`${state.target}${req.url ?? '/'}`, {
          method: req.method ?? 'GET',
          headers,
          ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
          signal: AbortSignal.timeout(10_000),
        });
        const body = Buffer.from(await upstream.arrayBuffer());
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' });
        res.end(body);
      } catch (err) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`proxy: ${String(err)}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const release = () => {
    state.holding = false;
    const resume = waiting;
    waiting = [];
    for (const r of resume) r();
  };
  return Object.defineProperties(state, {
    url: { value: `http://127.0.0.1:${port}`, enumerable: true },
    held: { get: () => waiting.length, enumerable: true },
    release: { value: release },
    close: {
      value: async () => {
        release();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    },
  }) as HoldingProxy;
}
