// Builds a conversation from settings: provider chains from the registry, one breaker registry for the session,
// the Silero VAD, the end-of-turn detector (its model on its own thread), and the conversation engine over a
// transport. Shared by the launched worker and the console.
import type { HistoryMessage, ProviderOrder } from '../functions/contract.ts';
import type { AgentConfig } from './config.ts';
import { StreamResampler } from './audio/resample.ts';
import { Conversation } from './agent/conversation.ts';
import { SileroActivity } from './agent/silero-activity.ts';
import type { AgentLogger, ReportSink } from './agent/types.ts';
import { createEndOfTurnDetector, type EndOfTurnDetector } from './end-of-turn/detector.ts';
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
  /** Overrides END_OF_TURN (the console's --fast runs on the rule: the model thinks in wall time, its clock runs 20× faster). */
  endOfTurn?: AgentConfig['END_OF_TURN'];
}

export interface Assembled {
  conversation: Conversation;
  /** Releases sockets, native handles and threads (kept STT sockets, the VAD session, the end-of-turn model). */
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
  const endOfTurn = await endOfTurnDetector(o);
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
      sttFlushSilenceMs: o.config.STT_FLUSH_SILENCE_MS,
      endOfTurnSilenceMs: o.config.END_OF_TURN_SILENCE_MS,
      ...(endOfTurn ? { endOfTurn } : {}),
      idlePromptMs: o.config.IDLE_PROMPT_MS,
      idlePromptText: o.config.IDLE_PROMPT_TEXT,
      awayGoodbyeMs: o.config.AWAY_GOODBYE_MS,
      awayGoodbyeText: o.config.AWAY_GOODBYE_TEXT,
      onCallerSpeech: () => void warmth.rewarm(),
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
      await Promise.allSettled([vad.dispose(), endOfTurn?.dispose()]);
      const closers = [...chains.stt, ...chains.tts].map((l) => l.provider.close?.());
      await Promise.allSettled(closers);
    },
  };
}

/** One per session: the model (END_OF_TURN=model; the rule alone, with one warning, without its file), or the rule. */
async function endOfTurnDetector(o: AssembleOptions): Promise<EndOfTurnDetector | undefined> {
  const mode = o.endOfTurn ?? o.config.END_OF_TURN;
  if (mode === 'fixed') return undefined;
  const detector = await createEndOfTurnDetector({
    model: mode === 'model' ? 'optional' : 'off',
    policy: {
      completeWaitMs: o.config.END_OF_TURN_COMPLETE_WAIT_MS,
      unsureWaitMs: o.config.END_OF_TURN_UNSURE_WAIT_MS,
      incompleteWaitMs: o.config.END_OF_TURN_INCOMPLETE_WAIT_MS,
    },
    log: o.log,
  });
  // Said once per session because the model's probabilities depend on the CPU's int8 kernel (int8-kernel.ts).
  if (detector.model.state === 'loaded') o.log.info({ event: 'end_of_turn_model_loaded', int8Kernel: detector.model.int8Kernel }, 'end-of-turn model loaded');
  return detector;
}
