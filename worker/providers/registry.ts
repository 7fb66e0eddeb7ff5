// Builds the provider chains from the environment, once, at start: credentials, hosts and models read with zod (a
// bad value fails naming its variable), one adapter per name in the order the control plane gave, and vendors with
// no key left out with one log line each. No value read here is ever logged.
import { z } from 'zod';
import { PROVIDERS, type Modality } from '../../functions/contract.ts';
import type { Logger } from '../log.ts';
import type { Link } from '../fallback/fallback.ts';
import { createAnthropicLlm } from './llm/anthropic.ts';
import { createGroqLlm } from './llm/groq.ts';
import { createOpenAiLlm } from './llm/openai.ts';
import { createDeepgramStt } from './stt/deepgram.ts';
import { DEFAULT_DEEPGRAM_MODEL, type DeepgramFlush } from './stt/deepgram-options.ts';
import { DEFAULT_OPENAI_STT_MODEL, createOpenAiStt } from './stt/openai.ts';
import { DEFAULT_ELEVENLABS_MODEL_ID, DEFAULT_ELEVENLABS_VOICE_ID, createElevenLabsTts } from './tts/elevenlabs.ts';
import { DEFAULT_OPENAI_TTS_MODEL, DEFAULT_OPENAI_TTS_VOICE, createOpenAiTts } from './tts/openai.ts';
import type { LlmProvider, SttProvider, TtsProvider } from './types.ts';

export const DEFAULT_MODELS = {
  OPENAI_LLM_MODEL: 'gpt-4.1-mini',
  ANTHROPIC_MODEL: 'claude-haiku-4-5',
  GROQ_MODEL: 'llama-3.3-70b-versatile',
  DEEPGRAM_MODEL: DEFAULT_DEEPGRAM_MODEL,
  OPENAI_STT_MODEL: DEFAULT_OPENAI_STT_MODEL,
  ELEVENLABS_VOICE_ID: DEFAULT_ELEVENLABS_VOICE_ID,
  ELEVENLABS_MODEL: DEFAULT_ELEVENLABS_MODEL_ID,
  OPENAI_TTS_MODEL: DEFAULT_OPENAI_TTS_MODEL,
  OPENAI_TTS_VOICE: DEFAULT_OPENAI_TTS_VOICE,
} as const;

/** A configuration the worker cannot start with: an unknown provider name, a malformed URL. */
export class ProviderConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderConfigError';
  }
}

// Unset and empty (or blank) mean the same: not configured.
const blankToUndefined = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
const key = z.string().optional().transform(blankToUndefined);
const url = z
  .string()
  .optional()
  .transform(blankToUndefined)
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional());
/** DEEPGRAM_FLUSH as written in the environment → the adapter's mode. */
const DEEPGRAM_FLUSH_VALUES = { auto: 'auto', finalize: 'finalize', 'close-stream': 'closeStream' } as const satisfies Record<string, DeepgramFlush>;
const deepgramFlush = z
  .string()
  .optional()
  .transform((value) => blankToUndefined(value) ?? 'auto')
  .pipe(z.enum(Object.keys(DEEPGRAM_FLUSH_VALUES) as [keyof typeof DEEPGRAM_FLUSH_VALUES], { error: 'must be auto, finalize or close-stream' }))
  .transform((value) => DEEPGRAM_FLUSH_VALUES[value]);
const setting = (fallback: string) => z.string().optional().transform((value) => blankToUndefined(value) ?? fallback);

const envSchema = z.object({
  OPENAI_API_KEY: key,
  ANTHROPIC_API_KEY: key,
  GROQ_API_KEY: key,
  DEEPGRAM_API_KEY: key,
  ELEVENLABS_API_KEY: key,
  /** Includes /v1. */
  OPENAI_BASE_URL: url,
  ANTHROPIC_BASE_URL: url,
  GROQ_BASE_URL: url,
  DEEPGRAM_BASE_URL: url,
  ELEVENLABS_BASE_URL: url,
  OPENAI_LLM_MODEL: setting(DEFAULT_MODELS.OPENAI_LLM_MODEL),
  ANTHROPIC_MODEL: setting(DEFAULT_MODELS.ANTHROPIC_MODEL),
  GROQ_MODEL: setting(DEFAULT_MODELS.GROQ_MODEL),
  DEEPGRAM_MODEL: setting(DEFAULT_MODELS.DEEPGRAM_MODEL),
  /** How a flush mid-audio asks Deepgram for the words (stt/deepgram.ts). */
  DEEPGRAM_FLUSH: deepgramFlush,
  OPENAI_STT_MODEL: setting(DEFAULT_MODELS.OPENAI_STT_MODEL),
  ELEVENLABS_VOICE_ID: setting(DEFAULT_MODELS.ELEVENLABS_VOICE_ID),
  ELEVENLABS_MODEL: setting(DEFAULT_MODELS.ELEVENLABS_MODEL),
  OPENAI_TTS_MODEL: setting(DEFAULT_MODELS.OPENAI_TTS_MODEL),
  OPENAI_TTS_VOICE: setting(DEFAULT_MODELS.OPENAI_TTS_VOICE),
});

export type ProviderEnv = z.infer<typeof envSchema>;

type Vendor = 'openai' | 'anthropic' | 'groq' | 'deepgram' | 'elevenlabs';

const KEY_VARIABLE = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  groq: 'GROQ_API_KEY',
  deepgram: 'DEEPGRAM_API_KEY',
  elevenlabs: 'ELEVENLABS_API_KEY',
} as const satisfies Record<Vendor, keyof ProviderEnv>;

interface ProviderByModality {
  stt: SttProvider;
  llm: LlmProvider;
  tts: TtsProvider;
}

type Factories = { [M in Modality]: Record<string, (env: ProviderEnv, apiKey: string, log: RegistryLog) => ProviderByModality[M]> };

const FACTORIES: Factories = {
  stt: {
    deepgram: (env, apiKey, log) =>
      createDeepgramStt({
        apiKey,
        baseUrl: env.DEEPGRAM_BASE_URL,
        model: env.DEEPGRAM_MODEL,
        flush: env.DEEPGRAM_FLUSH,
        onFlushSwitched: () =>
          log.warn({ event: 'stt_flush_switched', provider: 'deepgram', flush: 'close-stream' }, 'Deepgram left a Finalize unanswered: this session flushes with CloseStream from now on (DEEPGRAM_FLUSH=close-stream starts every session so)'),
      }),
    openai: (env, apiKey) => createOpenAiStt({ apiKey, baseUrl: env.OPENAI_BASE_URL, model: env.OPENAI_STT_MODEL }),
  },
  llm: {
    openai: (env, apiKey) => createOpenAiLlm({ apiKey, baseUrl: env.OPENAI_BASE_URL, model: env.OPENAI_LLM_MODEL }),
    anthropic: (env, apiKey) => createAnthropicLlm({ apiKey, baseUrl: env.ANTHROPIC_BASE_URL, model: env.ANTHROPIC_MODEL }),
    groq: (env, apiKey) => createGroqLlm({ apiKey, baseUrl: env.GROQ_BASE_URL, model: env.GROQ_MODEL }),
  },
  tts: {
    elevenlabs: (env, apiKey) =>
      createElevenLabsTts({ apiKey, baseUrl: env.ELEVENLABS_BASE_URL, voiceId: env.ELEVENLABS_VOICE_ID, modelId: env.ELEVENLABS_MODEL }),
    openai: (env, apiKey) =>
      createOpenAiTts({ apiKey, baseUrl: env.OPENAI_BASE_URL, model: env.OPENAI_TTS_MODEL, voice: env.OPENAI_TTS_VOICE }),
  },
};

export interface ProviderChains {
  stt: Link<SttProvider>[];
  llm: Link<LlmProvider>[];
  tts: Link<TtsProvider>[];
}

export type ProviderOrderInput = Record<Modality, readonly string[]>;

export type RegistryLog = Pick<Logger, 'info' | 'warn'>;

const MODALITIES = ['stt', 'llm', 'tts'] as const satisfies readonly Modality[];

/** Parses the provider variables; the error names every bad variable (never its value). */
export function readProviderEnv(env: Record<string, string | undefined>): ProviderEnv {
  const parsed = envSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ProviderConfigError(`invalid provider configuration: ${problems.join('; ')}`);
}

function checkOrder(order: ProviderOrderInput): void {
  for (const modality of MODALITIES) {
    const known: readonly string[] = PROVIDERS[modality];
    const seen = new Set<string>();
    for (const name of order[modality]) {
      if (!known.includes(name)) {
        throw new ProviderConfigError(`unknown ${modality} provider "${name}" in the provider order (known: ${known.join(', ')})`);
      }
      if (seen.has(name)) throw new ProviderConfigError(`the ${modality} provider order lists "${name}" twice`);
      seen.add(name);
    }
  }
}

function build<M extends Modality>(modality: M, names: readonly string[], env: ProviderEnv, missing: Map<Vendor, Modality[]>, log: RegistryLog): Link<ProviderByModality[M]>[] {
  const links: Link<ProviderByModality[M]>[] = [];
  for (const name of names) {
    const vendor = name as Vendor;
    const apiKey = env[KEY_VARIABLE[vendor]];
    const factory = FACTORIES[modality][name];
    if (!factory) continue; // unreachable: checkOrder ran first
    if (apiKey === undefined) {
      missing.set(vendor, [...(missing.get(vendor) ?? []), modality]);
      continue;
    }
    links.push({ name, provider: factory(env, apiKey, log) });
  }
  return links;
}

/**
 * The chains in the given order. A vendor without a key is left out of every chain it was named in, with one info
 * line naming it and its variable; a chain left empty is reported with a warning (every request on it will fail).
 */
export function buildProviders(env: Record<string, string | undefined>, order: ProviderOrderInput, log: RegistryLog): ProviderChains {
  checkOrder(order);
  const config = readProviderEnv(env);
  const missing = new Map<Vendor, Modality[]>();
  const chains: ProviderChains = {
    stt: build('stt', order.stt, config, missing, log),
    llm: build('llm', order.llm, config, missing, log),
    tts: build('tts', order.tts, config, missing, log),
  };
  for (const [vendor, modalities] of missing) {
    const variable = KEY_VARIABLE[vendor];
    log.info({ provider: vendor, variable, chains: modalities }, `${vendor} left out of the ${modalities.join(', ')} chain: ${variable} is not set`);
  }
  for (const modality of MODALITIES) {
    if (chains[modality].length > 0) continue;
    const variables = order[modality].map((name) => KEY_VARIABLE[name as Vendor]);
    const hint = variables.length > 0 ? `set ${variables.join(' or ')}` : 'the provider order is empty';
    log.warn({ modality, variables }, `no ${modality} provider available: every ${modality} request will fail (${hint})`);
  }
  return chains;
}
