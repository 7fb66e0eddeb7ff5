// The one contract between the control plane (functions/) and the media worker (worker/).
// Both sides import this file; change a schema here and both sides see it at typecheck.
import { z } from 'zod';

export const MODALITIES = ['stt', 'llm', 'tts'] as const;
export const modalitySchema = z.enum(MODALITIES);
export type Modality = z.infer<typeof modalitySchema>;

export const PROVIDERS = {
  stt: ['deepgram', 'openai'],
  llm: ['openai', 'anthropic', 'groq'],
  tts: ['elevenlabs', 'openai'],
} as const satisfies Record<Modality, readonly string[]>;

export type ProviderName<M extends Modality = Modality> = (typeof PROVIDERS)[M][number];
/** A provider of one modality, written `modality:provider`, e.g. `llm:anthropic`. */
export type ProviderId = { [M in Modality]: `${M}:${ProviderName<M>}` }[Modality];

export const PROVIDER_IDS = MODALITIES.flatMap((m) =>
  PROVIDERS[m].map((p) => `${m}:${p}` as ProviderId),
);

export function isProviderOf(modality: Modality, provider: string): boolean {
  return (PROVIDERS[modality] as readonly string[]).includes(provider);
}

const nonNegativeMs = z.number().finite().nonnegative().max(3_600_000);

/** How fast a provider's first byte / token / result has been coming, as the control plane measured it. */
export const firstByteLatencySchema = z.object({
  /** EWMA of the time to first byte over successful attempts. */
  ewmaMs: nonNegativeMs,
  /** EWMA of how far each sample fell from the average (mean absolute deviation); absent before a second sample. */
  deviationMs: nonNegativeMs.optional(),
  /** First bytes measured so far: how much the figures are worth. */
  samples: z.number().int().nonnegative(),
});
export type FirstByteLatency = z.infer<typeof firstByteLatencySchema>;

/** The order a chain tries its providers in; the control plane ranks it, the worker follows it. */
export const providerOrderSchema = z.object({
  stt: z.array(z.string()).min(1),
  llm: z.array(z.string()).min(1),
  tts: z.array(z.string()).min(1),
  /**
   * Measured first-byte latency of the ranked providers that have any, by modality then provider. Optional both ways:
   * an older control plane sends none (the worker falls back to defaults), an older worker drops it.
   */
  firstByte: z.partialRecord(modalitySchema, z.record(z.string(), firstByteLatencySchema)).optional(),
});
export type ProviderOrder = z.infer<typeof providerOrderSchema>;

export const ERROR_CLASSES = ['permanent', 'transient', 'timeout', 'truncated'] as const;
export const errorClassSchema = z.enum(ERROR_CLASSES);
export type ErrorClass = z.infer<typeof errorClassSchema>;

/** One attempt at one provider: what the control plane scores providers by. */
export const providerOutcomeSchema = z
  .object({
    modality: modalitySchema,
    provider: z.string().min(1).max(32),
    ok: z.boolean(),
    errorClass: errorClassSchema.optional(),
    /** Time to first byte / token / result. Absent when none arrived. */
    ttfbMs: nonNegativeMs.optional(),
    durationMs: nonNegativeMs,
    tokens: z.number().int().nonnegative().optional(),
    characters: z.number().int().nonnegative().optional(),
    audioMs: nonNegativeMs.optional(),
    /** Unix milliseconds when the attempt started. */
    atMs: z.number().int().nonnegative().optional(),
  })
  .refine((o) => o.ok || o.errorClass !== undefined, {
    message: 'a failed outcome needs an errorClass',
    path: ['errorClass'],
  })
  .refine((o) => isProviderOf(o.modality, o.provider), {
    message: 'unknown provider for this modality',
    path: ['provider'],
  });
export type ProviderOutcome = z.infer<typeof providerOutcomeSchema>;

/** Timings of one conversational turn, all in milliseconds. */
export const turnTimingSchema = z.object({
  turn: z.number().int().nonnegative(),
  endOfUtteranceDelayMs: nonNegativeMs.optional(),
  sttFinalLatencyMs: nonNegativeMs.optional(),
  llmTtftMs: nonNegativeMs.optional(),
  ttsTtfbMs: nonNegativeMs.optional(),
  endToEndMs: nonNegativeMs.optional(),
  providers: z
    .object({ stt: z.string().optional(), llm: z.string().optional(), tts: z.string().optional() })
    .optional(),
  failovers: z.number().int().nonnegative().default(0),
  interrupted: z.boolean().default(false),
});
export type TurnTiming = z.infer<typeof turnTimingSchema>;

export const workerMetricsSchema = z.object({
  outcomes: z.array(providerOutcomeSchema).max(500).default([]),
  turns: z.array(turnTimingSchema).max(200).default([]),
  /** Records the worker had to drop because its buffer was full: counted, not hidden. */
  droppedRecords: z.number().int().nonnegative().default(0),
  /** The worker process's total CPU time and memory: not a per-request duration, so not capped like one. */
  process: z
    .object({ cpuMs: z.number().finite().nonnegative().optional(), rssBytes: z.number().nonnegative().optional() })
    .optional(),
});
export type WorkerMetrics = z.infer<typeof workerMetricsSchema>;

export const historyMessageSchema = z.object({
  role: z.enum(['user', 'assistant']),
  text: z.string().min(1).max(8_000),
  /** True when the caller interrupted this answer: `text` is what was actually heard. */
  interrupted: z.boolean().optional(),
  atMs: z.number().int().nonnegative().optional(),
});
export type HistoryMessage = z.infer<typeof historyMessageSchema>;

export const appendHistorySchema = z.object({
  messages: z.array(historyMessageSchema).min(1).max(50),
});
export type AppendHistory = z.infer<typeof appendHistorySchema>;

export const WORKER_STATUSES = ['joined', 'active', 'ended', 'failed'] as const;
export const workerStatusSchema = z.object({
  status: z.enum(WORKER_STATUSES),
  /** Why the worker ended or failed; never a transcript or a secret. */
  reason: z.string().max(500).optional(),
});
export type WorkerStatusReport = z.infer<typeof workerStatusSchema>;

/** GET /v1/worker/session: everything a worker needs to start its conversation. */
export const workerSessionSchema = z.object({
  sessionId: z.string(),
  room: z.string(),
  providers: providerOrderSchema,
  systemPrompt: z.string(),
  greeting: z.string().optional(),
  history: z.array(historyMessageSchema),
});
export type WorkerSession = z.infer<typeof workerSessionSchema>;

/** How the agent joins its room: a token the functions minted for this room only (the worker holds no LiveKit secret). */
export const livekitJoinSchema = z.object({
  url: z.string().min(1),
  token: z.string().min(1),
  identity: z.string().min(1),
  expiresAtMs: z.number().int().nonnegative(),
});
export type LiveKitJoin = z.infer<typeof livekitJoinSchema>;

/** POST /v1/worker/bootstrap: the single-use launch credential exchanged for the session token and the room token. */
export const workerBootstrapSchema = z.object({
  workerToken: z.string().min(16),
  workerTokenExpiresAtMs: z.number().int().nonnegative(),
  livekit: livekitJoinSchema,
  session: workerSessionSchema,
});
export type WorkerBootstrap = z.infer<typeof workerBootstrapSchema>;

/** Environment a launched worker receives (the launcher passes these as container/process env). */
export const WORKER_ENV = {
  room: 'ROOM',
  sessionId: 'SESSION_ID',
  functionsUrl: 'FUNCTIONS_URL',
  /** Single-use, expires within LAUNCH_JOIN_TIMEOUT_MS; exchanged at POST /v1/worker/bootstrap. */
  bootstrapToken: 'WORKER_BOOTSTRAP_TOKEN',
  /** A session token handed over directly (the console reporting like a worker); launches never carry one. */
  workerToken: 'WORKER_TOKEN',
  sttProviders: 'STT_PROVIDERS',
  llmProviders: 'LLM_PROVIDERS',
  ttsProviders: 'TTS_PROVIDERS',
} as const;
