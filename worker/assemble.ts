// Builds a conversation from settings: provider chains from the registry, one breaker registry for the session,
// the Silero VAD, and the conversation engine over a transport. Shared by the launched worker and the console.
import type { HistoryMessage, ProviderOrder } from '../functions/contract.ts';
import type { AgentConfig } from './config.ts';
import { StreamResampler } from './audio/resample.ts';
import { Conversation } from './agent/conversation.ts';
import { SileroActivity } from './agent/silero-activity.ts';
import type { AgentLogger, ReportSink } from './agent/types.ts';
import { BreakerRegistry } from './fallback/breaker.ts';
import { llmHedgeDelays } from './fallback/hedge-delay.ts';
import { TtsChain } from './fallback/tts-chain.ts';
import { buildProviders, type RegistryLog } from './providers/registry.ts';
import { keepFirstProvidersWarm } from './providers/warm.ts';
import type { Transport } from './transport/types.ts';

export class NoProvidersError extends Error {
  constructor(modality: string) {
    super(`no ${modality} provider is configured: set the API key of at least one provider in ${modality.toUpperCase()}_PROVIDERS`);
    this.name = 'NoProvidersError';
  }
}

export interface AssembleOptions {
  env: Record<string, string | undefined>;
  config: AgentConfig;
  order: ProviderOrder;
  transport: Transport;
  report: ReportSink;
  log: AgentLogger & RegistryLog;
  systemPrompt: string;
  greeting: string;
  history?: HistoryMessage[];
}

export interface Assembled {
  conversation: Conversation;
  /** Releases sockets and native handles (kept STT sockets, the VAD session). */
  close(): Promise<void>;
}

export async function assembleConversation(o: AssembleOptions): Promise<Assembled> {
  const chains = buildProviders(o.env, o.order, o.log);
  for (const modality of ['stt', 'llm', 'tts'] as const) if (chains[modality].length === 0) throw new NoProvidersError(modality);
  const warmth = keepFirstProvidersWarm(chains, { stt: { sampleRate: o.transport.inputSampleRate, language: o.config.LANGUAGE }, log: o.log });
  const breakers = new BreakerRegistry();
  // The TTS chain outlives a turn, so its outcomes are wired here (STT and LLM get theirs per call).
  const tts = new TtsChain({ links: chains.tts, breakers, sticky: o.config.TTS_STICKY_FAILOVER, onOutcome: (outcome) => o.report.record(outcome) });
  const vad = await SileroActivity.create({ minSilenceMs: o.config.END_OF_TURN_SILENCE_MS });
  const conversation = new Conversation(
    {
      transport: o.transport,
      stt: { links: chains.stt, breakers, language: o.config.LANGUAGE },
      llm: { links: chains.llm, breakers, hedge: llmHedgeDelays(o.config, o.order) },
      tts,
      resampler: (from, to) => {
        const r = new StreamResampler(from, to);
        return { process: (pcm) => r.push(pcm) };
      },
      report: o.report,
      log: o.log,
      systemPrompt: o.systemPrompt,
      llmMaxTokens: o.config.LLM_MAX_TOKENS,
      greeting: o.greeting,
      historyMax: o.config.HISTORY_MAX_MESSAGES,
      initialHistory: o.history ?? [],
      bargeInMinMs: o.config.BARGE_IN_MIN_MS,
      vadPreRollMs: vad.preRollMs,
      earlyEndSilenceMs: o.config.EARLY_END_SILENCE_MS,
      endOfTurnSilenceMs: o.config.END_OF_TURN_SILENCE_MS,
      idlePromptMs: o.config.IDLE_PROMPT_MS,
      idlePromptText: o.config.IDLE_PROMPT_TEXT,
      apologyText: o.config.APOLOGY_TEXT,
      preemptiveGeneration: o.config.PREEMPTIVE_GENERATION,
      resumeFalseInterruptions: o.config.RESUME_FALSE_INTERRUPTIONS,
    },
    vad,
  );
  return {
    conversation,
    async close() {
      warmth.stop();
      await vad.dispose();
      const closers = [...chains.stt, ...chains.tts].map((l) => l.provider.close?.());
      await Promise.allSettled(closers);
    },
  };
}
