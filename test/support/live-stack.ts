// The whole system for end-to-end tests, every part a real process on loopback: livekit-server delivering its own
// webhooks to the functions (workerd), Redis behind the Upstash stand-in, the local launcher starting the real
// `node worker/main.ts` per room, and the fake vendors the workers talk to. Nothing here signs a webhook: LiveKit does.
import { Redis } from '@upstash/redis';
import { closedPort } from '../fakes/kit/server.ts';
import { startFakes, type Fakes } from '../e2e/console-support.ts';
import { startFunctionsGate, type FunctionsGate } from './functions-gate.ts';
import { startFunctions, testBindings, type FunctionsHandle } from './functions.ts';
import { pickLiveKitPort } from '../../infra/local/livekit/server.ts';
import { startTestLiveKit, type LiveKitServer } from './livekit-server.ts';
import { startLocalLauncher, type LauncherTask, type RunningLauncher } from './local-launcher.ts';
import { startUpstashStack, type UpstashStack } from './redis.ts';
import { sleep } from './wait.ts';

export const APP_KEY = 'test-app-key-1';
/** testBindings' operator key (OPERATOR_API_KEYS): sessions, providers, deep health. */
export const OPERATOR_KEY = 'test-operator-key-0001';
const OPERATOR_ATTEMPTS = 3;

export interface LiveStackOptions {
  /** Extra bindings for the functions (provider order, lifecycle timeouts…). */
  bindings?: Record<string, string>;
  /** Extra environment every launched worker inherits (through the launcher). */
  workerEnv?: Record<string, string>;
  /** A key pair LiveKit signs webhooks with and nothing else (the functions get it as LIVEKIT_WEBHOOK_API_*). */
  webhookKey?: { key: string; secret: string };
  /** Drop the functions' own log lines instead of passing them to this process's stdout (for the bench). */
  quietFunctions?: boolean;
}

/** One provider's row in GET /v1/providers (the fields tests read). */
export interface ProviderRow {
  modality: string;
  provider: string;
  successes: number;
  failures: number;
  circuit: string;
}

/** A session as GET /v1/sessions shows it (the fields tests read). */
export interface SessionView {
  id: string;
  room: string;
  status: string;
  launchAttempts?: number;
  [field: string]: unknown;
}

export interface LiveStack {
  livekit: LiveKitServer;
  fn: FunctionsHandle;
  /** Where LiveKit and the workers reach the functions: records webhooks, can be shut. */
  gate: FunctionsGate;
  stack: UpstashStack;
  launcher: RunningLauncher;
  fakes: Fakes;
  redis: Redis;
  /** POST /v1/token, as a client app would. */
  token(room: string, identity: string): Promise<{ token: string; url: string }>;
  sessions(): Promise<SessionView[]>;
  /** GET /v1/providers' health table, as an operator reads it. */
  providers(): Promise<ProviderRow[]>;
  session(sessionId: string): Promise<SessionView | undefined>;
  /** The launcher's tasks (worker processes) for one room. */
  tasks(room?: string): Promise<LauncherTask[]>;
  /** The launcher's log, which carries every worker's lines. */
  logs(): string;
  close(): Promise<void>;
}

export async function startLiveStack(options: LiveStackOptions = {}): Promise<LiveStack> {
  const [fakes, stack, livekitPort, functionsPort, gatePort] = await Promise.all([
    startFakes(),
    startUpstashStack(),
    pickLiveKitPort(),
    closedPort(),
    closedPort(),
  ]);
  const gate = await startFunctionsGate(gatePort, `http://127.0.0.1:${functionsPort}`);
  const functionsUrl = gate.url;
  const apiKey = 'devkey';
  const apiSecret = 'secret';
  // What every launched worker gets from the launcher. No LiveKit key or secret: workers join with the token the
  // functions mint at bootstrap (and the launcher would refuse to pass one on anyway).
  const workerEnv: Record<string, string> = {
    ...fakes.env,
    GREETING: '',
    // Workers run as they ship, preemptive generation on. A speculative request (asked when the caller falls silent,
    // dropped when the words change) would take a reply queued with pushReplies, so room tests script their replies
    // by prompt (`script.answer`): each question gets its own reply however many requests ask it.
    EMPTY_ROOM_GRACE_MS: '1000',
    LOG_LEVEL: 'info',
    ...options.workerEnv,
  };
  const launcher = await startLocalLauncher({
    LOCAL_LAUNCHER_STOP_GRACE_MS: '8000',
    ...workerEnv,
    // The launcher passes only allow-listed names of its environment to workers (each worker gets HEALTH_PORT=0).
    LOCAL_LAUNCHER_WORKER_ENV: Object.keys(workerEnv).join(','),
  });
  const fn = await startFunctions(
    testBindings({
      UPSTASH_REDIS_REST_URL: stack.restUrl,
      UPSTASH_REDIS_REST_TOKEN: stack.token,
      LIVEKIT_URL: `ws://127.0.0.1:${livekitPort}`,
      LIVEKIT_API_KEY: apiKey,
      LIVEKIT_API_SECRET: apiSecret,
      LOCAL_LAUNCHER_URL: launcher.url,
      FUNCTIONS_PUBLIC_URL: functionsUrl,
      ...(options.webhookKey
        ? { LIVEKIT_WEBHOOK_API_KEY: options.webhookKey.key, LIVEKIT_WEBHOOK_API_SECRET: options.webhookKey.secret }
        : {}),
      ...options.bindings,
    }),
    functionsPort,
    { quiet: options.quietFunctions ?? false },
  );
  const livekit = await startTestLiveKit({
    port: livekitPort,
    apiKey,
    apiSecret,
    webhookUrls: [`${functionsUrl}/v1/webhooks/livekit`],
    ...(options.webhookKey ? { webhookKey: options.webhookKey } : {}),
  });
  const redis = new Redis({ url: stack.restUrl, token: stack.token, automaticDeserialization: false });
  const client = { authorization: `Bearer ${APP_KEY}` };
  // Sessions are operator data: a client key (APP_KEY) only mints tokens.
  const operator = { authorization: `Bearer ${OPERATOR_KEY}` };

  /**
   * An operator's GET: its JSON, or an error naming the status. A 503 says "retry later" with a retry-after, and an
   * operator's client does as it says (a few times, each printed): ten workers on two cores can slow Redis's
   * answers past the functions' deadline for a moment.
   */
  async function operatorGet<T>(path: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const res = await fn.fetch(path, { headers: operator });
      if (res.status === 200) return (await res.json()) as T;
      const body = await res.text();
      const retryAfterS = Number(res.headers.get('retry-after'));
      if (res.status !== 503 || !(retryAfterS > 0) || attempt === OPERATOR_ATTEMPTS) {
        throw new Error(`GET ${path} answered ${res.status} (attempt ${attempt}): ${body}`);
      }
      console.error(`GET ${path} answered 503 (attempt ${attempt}): ${body}; retrying after ${retryAfterS} s as it asks`);
      await sleep(retryAfterS * 1000);
    }
  }

  return {
    livekit,
    fn,
    gate,
    stack,
    launcher,
    fakes,
    redis,
    async token(room, identity) {
      const res = await fn.fetch('/v1/token', {
        method: 'POST',
        headers: { ...client, 'content-type': 'application/json' },
        body: JSON.stringify({ room, identity }),
      });
      if (res.status !== 200) throw new Error(`POST /v1/token answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { token: string; url: string };
    },
    async sessions() {
      return (await operatorGet<{ sessions: SessionView[] }>('/v1/sessions')).sessions;
    },
    async providers() {
      return (await operatorGet<{ providers: ProviderRow[] }>('/v1/providers')).providers;
    },
    async session(sessionId) {
      const res = await fn.fetch(`/v1/sessions/${sessionId}`, { headers: operator });
      return res.status === 200 ? ((await res.json()) as SessionView) : undefined;
    },
    async tasks(room) {
      const all = await launcher.tasks();
      return room === undefined ? all : all.filter((t) => t.room === room);
    },
    logs: () => launcher.stdout() + launcher.stderr(),
    async close() {
      await launcher.stop();
      await livekit.stop();
      await fn.dispose().catch(() => undefined);
      await gate.close();
      await fakes.close();
      await stack.stop();
    },
  };
}
