// The worker's settings, parsed once at start: a bad or missing value stops the start with a message naming it.
// Provider keys, hosts and models are read by worker/providers/registry.ts.
import { z } from 'zod';
import { DEFAULT_WAIT_POLICY, MAX_WAIT_MS } from './end-of-turn/wait-policy.ts';

/** Silence after which the streaming STT is asked for the words so far (STT_FLUSH_SILENCE_MS). */
export const DEFAULT_STT_FLUSH_SILENCE_MS = 100;

const ms = (fallback: number, max = 86_400_000) => z.coerce.number().int().min(0).max(max).default(fallback);

const onOff = (fallback: 'on' | 'off') =>
  z
    .enum(['on', 'off'])
    .default(fallback)
    .transform((v) => v === 'on');

const providerList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const schema = z
  .object({
    STT_PROVIDERS: providerList('deepgram,openai'),
    LLM_PROVIDERS: providerList('openai,anthropic,groq'),
    TTS_PROVIDERS: providerList('elevenlabs,openai'),
    SYSTEM_PROMPT: z.string().default('You are a friendly, concise voice assistant. Answer in one to three short spoken sentences.'),
    // An empty GREETING means no greeting: kept as the empty string, not replaced by the default.
    GREETING: z.string().default('Hello! How can I help you today?'),
    LANGUAGE: z.string().min(2).max(16).default('en'),
    HISTORY_MAX_MESSAGES: z.coerce.number().int().min(1).max(500).default(20),
    BARGE_IN_MIN_MS: ms(400, 10_000),
    // How the end of the caller's turn is decided: 'model' (Smart Turn on its own thread + the transcript rule; the rule
    // alone, with one warning, when the model file is absent), 'rule' (the words alone), 'fixed' (END_OF_TURN_SILENCE_MS).
    END_OF_TURN: z.enum(['model', 'rule', 'fixed']).default('model'),
    // The silences that end a turn judged complete, unsure and unfinished (model and rule); ordered, at most 5 s.
    END_OF_TURN_COMPLETE_WAIT_MS: ms(DEFAULT_WAIT_POLICY.completeWaitMs, MAX_WAIT_MS),
    END_OF_TURN_UNSURE_WAIT_MS: ms(DEFAULT_WAIT_POLICY.unsureWaitMs, MAX_WAIT_MS),
    END_OF_TURN_INCOMPLETE_WAIT_MS: ms(DEFAULT_WAIT_POLICY.incompleteWaitMs, MAX_WAIT_MS),
    END_OF_TURN_SILENCE_MS: ms(500, 5_000),
    EARLY_END_SILENCE_MS: ms(200, 5_000),
    // Silence after which a streaming STT is asked for the words so far (Deepgram's Finalize), so that the words are in
    // when the end-of-turn wait runs out instead of at the STT's own endpointing; 0 = never ask.
    STT_FLUSH_SILENCE_MS: ms(DEFAULT_STT_FLUSH_SILENCE_MS, 5_000),
    IDLE_PROMPT_MS: ms(20_000),
    // The LLM (and the first sentence's TTS) start when the caller falls silent, before the turn is certain; the answer
    // is used only if the turn ends with the same words, else dropped unheard (its tokens still paid).
    PREEMPTIVE_GENERATION: onOff('on'),
    // Talk over the agent pauses it; it plays on from where it stopped when the STT finds no words in it.
    RESUME_FALSE_INTERRUPTIONS: onOff('on'),
    IDLE_PROMPT_TEXT: z.string().min(1).default('Are you still there?'),
    // A caller still silent this long after the check-in is bid goodbye and the session ends (reason user_away); 0 = never.
    AWAY_GOODBYE_MS: ms(20_000),
    AWAY_GOODBYE_TEXT: z.string().min(1).default("It seems you've stepped away, so I'll end the call here. Goodbye!"),
    APOLOGY_TEXT: z.string().min(1).default("Sorry, I'm having trouble right now. Could you say that again?"),
    // LLM hedging: when the primary has no first token after its usual time (measured, worker/fallback/hedge-delay.ts),
    // the next provider starts alongside. LLM_HEDGE_AFTER_MS fixes the delay instead; LLM_HEDGE=off turns hedging off.
    LLM_HEDGE: z.enum(['on', 'off']).default('on'),
    LLM_HEDGE_AFTER_MS: z.coerce.number().int().min(1).max(60_000).optional(),
    // The most tokens one answer may cost: a spoken answer is a few sentences, a runaway one is cut there. Sent to every
    // LLM (max_completion_tokens / max_tokens); a provider continuing a cut answer gets what is left of it.
    LLM_MAX_TOKENS: z.coerce.number().int().min(16).max(8_192).default(300),
    TTS_STICKY_FAILOVER: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.END_OF_TURN_COMPLETE_WAIT_MS > env.END_OF_TURN_UNSURE_WAIT_MS) {
      ctx.addIssue({ code: 'custom', path: ['END_OF_TURN_COMPLETE_WAIT_MS'], message: 'must not exceed END_OF_TURN_UNSURE_WAIT_MS' });
    }
    if (env.END_OF_TURN_UNSURE_WAIT_MS > env.END_OF_TURN_INCOMPLETE_WAIT_MS) {
      ctx.addIssue({ code: 'custom', path: ['END_OF_TURN_UNSURE_WAIT_MS'], message: 'must not exceed END_OF_TURN_INCOMPLETE_WAIT_MS' });
    }
  });

const launchedSchema = z.object({
  // LiveKit accepts long room names (SIP rooms); the functions bound them at 256.
  ROOM: z.string().min(1).max(256),
  SESSION_ID: z.string().min(1).max(128),
  FUNCTIONS_URL: z.url({ protocol: /^https?$/ }),
  // Single-use and short-lived: traded at POST /v1/worker/bootstrap for the session token and the room token. The
  // worker holds no LiveKit API key or secret: the functions mint its join token for this room only.
  WORKER_BOOTSTRAP_TOKEN: z.string().min(16),
  // Only to override where the functions say LiveKit is (e.g. another network path from this host).
  LIVEKIT_URL: z.url({ protocol: /^(wss?|https?)$/ }).optional(),
  HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
  IDLE_TIMEOUT_MS: ms(300_000),
  MAX_SESSION_MS: ms(3_600_000),
  EMPTY_ROOM_GRACE_MS: ms(15_000),
  SHUTDOWN_BOUND_MS: ms(5_000, 60_000),
});

export type AgentConfig = z.infer<typeof schema>;
/** Every variable the worker's settings read (the launcher's env allow-list must pass each of them). */
export const SETTING_NAMES: readonly string[] = [...Object.keys(schema.shape), ...Object.keys(launchedSchema.shape)];
export type LaunchedConfig = z.infer<typeof launchedSchema>;

export class WorkerConfigError extends Error {
  constructor(issues: { variable: string; message: string }[]) {
    super(`invalid worker configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.name = 'WorkerConfigError';
  }
}

function parse<S extends z.ZodType>(s: S, env: Record<string, string | undefined>): z.infer<S> {
  const result = s.safeParse(env);
  if (!result.success) {
    throw new WorkerConfigError(result.error.issues.map((i) => ({ variable: String(i.path[0] ?? '(env)'), message: i.message })));
  }
  return result.data;
}

/** Conversation settings shared by the launched worker and the console. */
export function parseAgentConfig(env: Record<string, string | undefined>): AgentConfig {
  return parse(schema, env);
}

/** What a worker launched for a room needs on top (room, session, control plane, LiveKit, lifetimes). */
export function parseLaunchedConfig(env: Record<string, string | undefined>): LaunchedConfig {
  return parse(launchedSchema, env);
}
