// The control plane's configuration: parsed once per set of bindings, at the edge, with a message naming any bad variable.
import { z } from 'zod';
import { PROVIDERS, type Modality, type ProviderOrder } from './contract.ts';
import { DEFAULT_HEALTH_POLICY, type HealthPolicy } from './health/policy.ts';
import type { LauncherConfig } from './launchers/create.ts';

const csv = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

const intFrom = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const providerList = (modality: Modality, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform(csv)
    .superRefine((names, ctx) => {
      const known = PROVIDERS[modality] as readonly string[];
      for (const n of names) {
        if (!known.includes(n)) ctx.addIssue({ code: 'custom', message: `unknown ${modality} provider "${n}" (known: ${known.join(', ')})` });
      }
      if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'needs at least one provider' });
    });

const httpUrl = z.url({ protocol: /^https?$/ });

const envSchema = z
  .object({
    LIVEKIT_URL: z.url({ protocol: /^(wss?|https?)$/ }),
    /** What client apps connect to, when it differs from how the functions reach LiveKit (e.g. inside compose). */
    LIVEKIT_PUBLIC_URL: z.url({ protocol: /^(wss?|https?)$/ }).optional(),
    LIVEKIT_API_KEY: z.string().min(1),
    LIVEKIT_API_SECRET: z.string().min(1),
    /** What workers connect to, when it differs from LIVEKIT_URL (e.g. a private address inside the VPC). */
    LIVEKIT_WORKER_URL: z.url({ protocol: /^(wss?|https?)$/ }).optional(),
    /** A key used only to sign webhooks (livekit.yaml `webhook.api_key`); LIVEKIT_API_KEY's pair when unset. */
    LIVEKIT_WEBHOOK_API_KEY: z.string().min(1).optional(),
    LIVEKIT_WEBHOOK_API_SECRET: z.string().min(1).optional(),
    /** Client keys: mint tokens only. `key` or `key:prefix` (then only for rooms whose name starts with prefix). */
    APP_API_KEYS: z
      .string()
      .transform(csv)
      .pipe(z.array(z.string().regex(/^[^:]{8,}(:.*)?$/, 'each client key needs at least 8 characters before an optional ":prefix"')).min(1, 'set at least one key')),
    /** Operator keys: sessions, the provider table, deep /health (and tokens). */
    OPERATOR_API_KEYS: z
      .string()
      .transform(csv)
      .pipe(z.array(z.string().min(16, 'each operator key needs at least 16 characters')))
      .optional(),
    /** `development` leaves /metrics open when METRICS_TOKEN is unset; anywhere else it then answers 401. */
    ENVIRONMENT: z.enum(['development', 'production']).default('production'),
    UPSTASH_REDIS_REST_URL: httpUrl,
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
    REDIS_TIMEOUT_MS: intFrom(50, 10_000, 1_000),
    WORKER_TOKEN_SECRET: z.string().min(32, 'use at least 32 random characters'),
    WORKER_TOKEN_TTL_SECONDS: intFrom(300, 86_400, 7_200),
    /** The agent's LiveKit join token: short, a worker fetches a fresh one through the worker API when it needs one. */
    AGENT_TOKEN_TTL_SECONDS: intFrom(60, 3_600, 600),
    /** Calls per minute one session's worker may make (heartbeats, metrics, history, status). */
    WORKER_RATE_LIMIT_PER_MINUTE: intFrom(10, 100_000, 600),
    MAX_CONCURRENT_SESSIONS: intFrom(1, 100_000, 100),
    /** How long a session's launch is retried (with backoff) before it is given up. */
    LAUNCH_RETRY_BUDGET_MINUTES: intFrom(1, 1_440, 10),
    FUNCTIONS_PUBLIC_URL: httpUrl,
    METRICS_TOKEN: z.string().min(8).optional(),
    /** The talk page at / and its token route, POST /v1/page/token: off unless the operator turns it on. */
    TALK_PAGE: z.enum(['on', 'off'], { error: 'use "on" or "off" (the talk page and its token route; off by default)' }).default('off'),
    STT_PROVIDERS: providerList('stt', 'deepgram,openai'),
    LLM_PROVIDERS: providerList('llm', 'openai,anthropic,groq'),
    TTS_PROVIDERS: providerList('tts', 'elevenlabs,openai'),
    HEALTH_OPEN_AFTER_FAILURES: intFrom(1, 1_000, DEFAULT_HEALTH_POLICY.openAfterConsecutiveFailures),
    HEALTH_COOL_DOWN_MS: intFrom(1_000, 3_600_000, DEFAULT_HEALTH_POLICY.coolDownMs),
    SYSTEM_PROMPT: z
      .string()
      .max(20_000)
      .default('You are a friendly, concise voice assistant. Answer in one to three short spoken sentences.'),
    GREETING: z.string().max(500).optional(),
    HISTORY_MAX_MESSAGES: intFrom(1, 500, 20),
    TOKEN_DEFAULT_TTL_SECONDS: intFrom(60, 21_600, 900),
    TOKEN_MAX_TTL_SECONDS: intFrom(60, 21_600, 3_600),
    RATE_LIMIT_PER_KEY_PER_MINUTE: intFrom(1, 100_000, 120),
    RATE_LIMIT_PER_IP_PER_MINUTE: intFrom(1, 100_000, 30),
    AGENT_IDENTITY_PREFIX: z.string().min(1).max(64).default('agent-'),
    LAUNCH_MAX_ATTEMPTS: intFrom(1, 20, 4),
    LAUNCH_JOIN_TIMEOUT_MS: intFrom(5_000, 900_000, 180_000),
    WORKER_HEARTBEAT_TIMEOUT_MS: intFrom(10_000, 900_000, 120_000),
    SESSION_TTL_SECONDS: intFrom(3_600, 7 * 86_400, 86_400),
    LAUNCHER: z.enum(['ecs', 'local']).default('local'),
    LOCAL_LAUNCHER_URL: httpUrl.optional(),
    LOCAL_LAUNCHER_TOKEN: z.string().min(1).optional(),
    AWS_REGION: z.string().min(1).optional(),
    AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
    AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    AWS_SESSION_TOKEN: z.string().min(1).optional(),
    ECS_CLUSTER: z.string().min(1).optional(),
    ECS_TASK_DEFINITION: z.string().min(1).optional(),
    ECS_CONTAINER_NAME: z.string().min(1).default('worker'),
    ECS_SUBNETS: z.string().default('').transform(csv),
    ECS_SECURITY_GROUPS: z.string().default('').transform(csv),
    ECS_ASSIGN_PUBLIC_IP: flag(false),
    ECS_CAPACITY_PROVIDER: z.string().min(1).optional(),
    ECS_ENDPOINT: httpUrl.optional(),
  })
  .superRefine((env, ctx) => {
    if (env.TOKEN_DEFAULT_TTL_SECONDS > env.TOKEN_MAX_TTL_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['TOKEN_DEFAULT_TTL_SECONDS'], message: 'must not exceed TOKEN_MAX_TTL_SECONDS' });
    }
    if ((env.LIVEKIT_WEBHOOK_API_KEY === undefined) !== (env.LIVEKIT_WEBHOOK_API_SECRET === undefined)) {
      const missing = env.LIVEKIT_WEBHOOK_API_KEY === undefined ? 'LIVEKIT_WEBHOOK_API_KEY' : 'LIVEKIT_WEBHOOK_API_SECRET';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'set both LIVEKIT_WEBHOOK_API_KEY and LIVEKIT_WEBHOOK_API_SECRET, or neither' });
    }
    if (env.LAUNCHER === 'local' && !env.LOCAL_LAUNCHER_URL) {
      ctx.addIssue({ code: 'custom', path: ['LOCAL_LAUNCHER_URL'], message: 'required when LAUNCHER=local' });
    }
    if (env.LAUNCHER === 'ecs') {
      const required = ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'ECS_CLUSTER', 'ECS_TASK_DEFINITION'] as const;
      for (const name of required) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'required when LAUNCHER=ecs' });
      }
      if (env.ECS_SUBNETS.length === 0) ctx.addIssue({ code: 'custom', path: ['ECS_SUBNETS'], message: 'required when LAUNCHER=ecs' });
    }
  });

type ParsedEnv = z.infer<typeof envSchema>;

export interface Config {
  livekit: {
    url: string;
    publicUrl: string;
    workerUrl: string;
    httpUrl: string;
    apiKey: string;
    apiSecret: string;
    webhook: { apiKey: string; apiSecret: string };
  };
  /** Client keys (mint tokens only), each optionally bound to a room-name prefix. */
  clientKeys: ClientKey[];
  operatorKeys: string[];
  environment: 'development' | 'production';
  agentTokenTtlSeconds: number;
  workerRateLimitPerMinute: number;
  maxConcurrentSessions: number;
  redis: { url: string; token: string; timeoutMs: number };
  workerToken: { secret: string; ttlSeconds: number };
  functionsPublicUrl: string;
  metricsToken: string | undefined;
  talkPage: boolean;
  providerPriority: ProviderOrder;
  healthPolicy: HealthPolicy;
  systemPrompt: string;
  greeting: string | undefined;
  historyMaxMessages: number;
  token: { defaultTtlSeconds: number; maxTtlSeconds: number };
  rateLimit: { perKeyPerMinute: number; perIpPerMinute: number };
  agentIdentityPrefix: string;
  launch: { maxAttempts: number; joinTimeoutMs: number; heartbeatTimeoutMs: number; retryBudgetMs: number };
  sessionTtlSeconds: number;
  launcher: LauncherConfig;
}

export interface ClientKey {
  key: string;
  /** Rooms this key may mint tokens for start with it; undefined means any room. */
  roomPrefix: string | undefined;
}

function toClientKey(entry: string): ClientKey {
  const at = entry.indexOf(':');
  return at < 0 ? { key: entry, roomPrefix: undefined } : { key: entry.slice(0, at), roomPrefix: entry.slice(at + 1) };
}

/** Thrown when the bindings are invalid; the message names every bad variable and never a value. */
export class ConfigError extends Error {
  readonly variables: string[];
  constructor(issues: { variable: string; message: string }[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.variables = issues.map((i) => i.variable);
  }
}

function toLauncherConfig(env: ParsedEnv): LauncherConfig {
  if (env.LAUNCHER === 'local') {
    return { kind: 'local', url: env.LOCAL_LAUNCHER_URL ?? '', token: env.LOCAL_LAUNCHER_TOKEN };
  }
  return {
    kind: 'ecs',
    region: env.AWS_REGION ?? '',
    cluster: env.ECS_CLUSTER ?? '',
    taskDefinition: env.ECS_TASK_DEFINITION ?? '',
    containerName: env.ECS_CONTAINER_NAME,
    subnets: env.ECS_SUBNETS,
    securityGroups: env.ECS_SECURITY_GROUPS,
    assignPublicIp: env.ECS_ASSIGN_PUBLIC_IP,
    ...(env.ECS_CAPACITY_PROVIDER ? { capacityProvider: env.ECS_CAPACITY_PROVIDER } : { launchType: 'FARGATE' as const }),
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    },
    ...(env.ECS_ENDPOINT ? { endpoint: env.ECS_ENDPOINT } : {}),
  };
}

export function parseConfig(bindings: Record<string, unknown>): Config {
  // Workers bindings also hold non-string values (KV, etc.); only strings are configuration, and empty means unset.
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(bindings)) if (typeof v === 'string' && v !== '') strings[k] = v;
  const parsed = envSchema.safeParse(strings);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '(env)'), message: i.message })),
    );
  }
  const env = parsed.data;
  return {
    livekit: {
      url: env.LIVEKIT_URL,
      publicUrl: env.LIVEKIT_PUBLIC_URL ?? env.LIVEKIT_URL,
      workerUrl: env.LIVEKIT_WORKER_URL ?? env.LIVEKIT_URL,
      httpUrl: env.LIVEKIT_URL.replace(/^ws/, 'http'),
      apiKey: env.LIVEKIT_API_KEY,
      apiSecret: env.LIVEKIT_API_SECRET,
      webhook: {
        apiKey: env.LIVEKIT_WEBHOOK_API_KEY ?? env.LIVEKIT_API_KEY,
        apiSecret: env.LIVEKIT_WEBHOOK_API_SECRET ?? env.LIVEKIT_API_SECRET,
      },
    },
    clientKeys: env.APP_API_KEYS.map(toClientKey),
    operatorKeys: env.OPERATOR_API_KEYS ?? [],
    environment: env.ENVIRONMENT,
    agentTokenTtlSeconds: env.AGENT_TOKEN_TTL_SECONDS,
    workerRateLimitPerMinute: env.WORKER_RATE_LIMIT_PER_MINUTE,
    maxConcurrentSessions: env.MAX_CONCURRENT_SESSIONS,
    redis: { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, timeoutMs: env.REDIS_TIMEOUT_MS },
    workerToken: { secret: env.WORKER_TOKEN_SECRET, ttlSeconds: env.WORKER_TOKEN_TTL_SECONDS },
    functionsPublicUrl: env.FUNCTIONS_PUBLIC_URL.replace(/\/+$/, ''),
    metricsToken: env.METRICS_TOKEN,
    talkPage: env.TALK_PAGE === 'on',
    providerPriority: { stt: env.STT_PROVIDERS, llm: env.LLM_PROVIDERS, tts: env.TTS_PROVIDERS },
    healthPolicy: {
      ...DEFAULT_HEALTH_POLICY,
      openAfterConsecutiveFailures: env.HEALTH_OPEN_AFTER_FAILURES,
      coolDownMs: env.HEALTH_COOL_DOWN_MS,
    },
    systemPrompt: env.SYSTEM_PROMPT,
    greeting: env.GREETING,
    historyMaxMessages: env.HISTORY_MAX_MESSAGES,
    token: { defaultTtlSeconds: env.TOKEN_DEFAULT_TTL_SECONDS, maxTtlSeconds: env.TOKEN_MAX_TTL_SECONDS },
    rateLimit: { perKeyPerMinute: env.RATE_LIMIT_PER_KEY_PER_MINUTE, perIpPerMinute: env.RATE_LIMIT_PER_IP_PER_MINUTE },
    agentIdentityPrefix: env.AGENT_IDENTITY_PREFIX,
    launch: {
      maxAttempts: env.LAUNCH_MAX_ATTEMPTS,
      joinTimeoutMs: env.LAUNCH_JOIN_TIMEOUT_MS,
      heartbeatTimeoutMs: env.WORKER_HEARTBEAT_TIMEOUT_MS,
      retryBudgetMs: env.LAUNCH_RETRY_BUDGET_MINUTES * 60_000,
    },
    sessionTtlSeconds: env.SESSION_TTL_SECONDS,
    launcher: toLauncherConfig(env),
  };
}

const cache = new WeakMap<object, Config>();

/** Parses once per bindings object: an isolate reuses the same `env` across requests. */
export function configFrom(bindings: object): Config {
  const hit = cache.get(bindings);
  if (hit) return hit;
  const config = parseConfig(bindings as Record<string, unknown>);
  cache.set(bindings, config);
  return config;
}
