// What a worker's environment may hold. A worker gets exactly: the launcher's own variables whose names are on the
// allow-list, then the launch request's env, then HEALTH_PORT=0 unless the request set one. Nothing else is
// inherited, so a secret in the launcher's environment (its own token, a LiveKit API secret someone left in a shell,
// cloud credentials) never reaches a process that runs vendor SDKs and talks to the internet.

/** Passed by default: what a worker reads (worker/config.ts, worker/providers/registry.ts) and what Node needs to run. */
export const DEFAULT_WORKER_ENV_NAMES: readonly string[] = [
  'PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS',
  'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GROQ_API_KEY', 'DEEPGRAM_API_KEY', 'ELEVENLABS_API_KEY',
  'OPENAI_BASE_URL', 'ANTHROPIC_BASE_URL', 'GROQ_BASE_URL', 'DEEPGRAM_BASE_URL', 'ELEVENLABS_BASE_URL',
  'OPENAI_LLM_MODEL', 'ANTHROPIC_MODEL', 'GROQ_MODEL', 'DEEPGRAM_MODEL', 'DEEPGRAM_FLUSH', 'OPENAI_STT_MODEL',
  'ELEVENLABS_VOICE_ID', 'ELEVENLABS_MODEL', 'OPENAI_TTS_MODEL', 'OPENAI_TTS_VOICE',
  'SYSTEM_PROMPT', 'GREETING', 'LANGUAGE', 'HISTORY_MAX_MESSAGES', 'BARGE_IN_MIN_MS', 'END_OF_TURN_SILENCE_MS',
  'EARLY_END_SILENCE_MS', 'STT_FLUSH_SILENCE_MS', 'IDLE_PROMPT_MS', 'IDLE_PROMPT_TEXT', 'APOLOGY_TEXT', 'LLM_HEDGE', 'LLM_HEDGE_AFTER_MS',
  'TTS_STICKY_FAILOVER', 'LOG_LEVEL', 'LIVEKIT_URL', 'IDLE_TIMEOUT_MS', 'MAX_SESSION_MS', 'EMPTY_ROOM_GRACE_MS',
  'SHUTDOWN_BOUND_MS', 'LLM_MAX_TOKENS', 'PREEMPTIVE_GENERATION', 'RESUME_FALSE_INTERRUPTIONS', 'END_OF_TURN',
  'END_OF_TURN_COMPLETE_WAIT_MS', 'END_OF_TURN_UNSURE_WAIT_MS', 'END_OF_TURN_INCOMPLETE_WAIT_MS', 'AWAY_GOODBYE_MS',
  'AWAY_GOODBYE_TEXT', 'STT_PROVIDERS', 'LLM_PROVIDERS', 'TTS_PROVIDERS',
];

/**
 * Never passed, whatever the allow-list or a request says: credentials a worker must not hold. The worker joins with
 * a token the functions mint and reports with a session-scoped credential; it needs none of these.
 */
export const FORBIDDEN_WORKER_ENV = /^(LIVEKIT_API_KEY|LIVEKIT_API_SECRET|LIVEKIT_WEBHOOK_API_(KEY|SECRET)|LOCAL_LAUNCHER_.*|WORKER_TOKEN_SECRET|UPSTASH_.*|REDIS_.*|AWS_.*|APP_API_KEYS|OPERATOR_API_KEYS|METRICS_TOKEN)$/;

export function isForbiddenWorkerEnv(name: string): boolean {
  return FORBIDDEN_WORKER_ENV.test(name);
}

export function workerEnvironment(
  allowList: readonly string[],
  launcherEnv: NodeJS.ProcessEnv,
  requestEnv: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of allowList) {
    const value = launcherEnv[name];
    if (value !== undefined && !isForbiddenWorkerEnv(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(requestEnv)) if (!isForbiddenWorkerEnv(name)) env[name] = value;
  // Several workers on one host: each binds a free health port instead of all fighting over 8081.
  env.HEALTH_PORT ??= '0';
  return env;
}
