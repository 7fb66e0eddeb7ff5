// What the conversation engine is built from: a transport, the three chains, a VAD, a reporter, and its settings.
import type { HistoryMessage, ProviderOutcome, TurnTiming } from '../../functions/contract.ts';
import type { LlmChainOptions } from '../fallback/llm-chain.ts';
import type { SttChainOptions } from '../fallback/stt-chain.ts';
import type { TtsChain } from '../fallback/tts-chain.ts';
import type { EndOfTurnDetector } from '../end-of-turn/detector.ts';
import type { Transport } from '../transport/types.ts';
import type { Resampler } from './answer.ts';

/**
 * Speech segments in the caller's audio. `atMs` is a position in the stream pushed so far (0 = its first sample): the
 * onset of the speech for a start, where the silence began for an end. The audio itself goes to the STT from the
 * transport, not through the VAD.
 */
export type VadEvent = { type: 'speech_start'; atMs: number } | { type: 'speech_end'; atMs: number };

/** Voice activity over the caller's 16 kHz frames, with hysteresis and minimum speech/silence durations inside. */
export interface VoiceActivity {
  push(frame16k: Int16Array): Promise<VadEvent[]>;
  /** Ms of non-speech at the end of what was pushed (0 while speech goes on). */
  readonly trailingSilenceMs: number;
  dispose?(): Promise<void>;
}

/** Where outcomes, turn timings and history go (the control plane in a launched worker; a file in the console). */
export interface ReportSink {
  record(outcome: ProviderOutcome): void;
  /** `detail` is for local reports (the console's report.json) only; it never leaves the machine. */
  recordTurn(timing: TurnTiming, detail?: TurnDetail): void;
  appendHistory(messages: HistoryMessage[]): void;
}

export interface TurnDetail {
  userText: string;
  agentText: string;
  /** On the transport's clock: where to look on the output waveform. */
  userSpeechEndedAtMs: number;
  agentAudioStartedAtMs?: number;
}

export interface AgentLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface ConversationOptions {
  transport: Transport;
  stt: Omit<SttChainOptions, 'onOutcome'>;
  llm: Omit<LlmChainOptions, 'onOutcome'>;
  tts: TtsChain;
  resampler(fromRate: number, toRate: number): Resampler;
  report: ReportSink;
  log: AgentLogger;
  systemPrompt: string;
  /** Every LLM request's maxTokens (LLM_MAX_TOKENS). */
  llmMaxTokens: number;
  /** Said when the caller arrives; empty or undefined means no greeting. */
  greeting?: string;
  historyMax: number;
  initialHistory?: HistoryMessage[];
  /** Caller speech over the agent at least this long interrupts it; shorter is a backchannel. */
  bargeInMinMs: number;
  /** Audio the VAD delivers from before the detected onset (not speech). */
  vadPreRollMs: number;
  /** With the STT's own endpointing (speech_final), this much silence already ends the turn. */
  earlyEndSilenceMs: number;
  /** Silence after which the STT is asked for the words so far (its flush); 0 or absent: never. */
  sttFlushSilenceMs?: number;
  /** Without `endOfTurn`: silence after the end of speech (on the audio) that ends the turn; the VAD's own end is the backstop. */
  endOfTurnSilenceMs: number;
  /** Judges how long each silence must last (END_OF_TURN=model|rule); absent: the fixed `endOfTurnSilenceMs`. */
  endOfTurn?: EndOfTurnDetector;
  /** Silence before the agent checks in once (0 = never). */
  idlePromptMs: number;
  idlePromptText: string;
  /** Silence after the check-in before the agent says goodbye and the session ends (0 or absent = never). */
  awayGoodbyeMs?: number;
  awayGoodbyeText?: string;
  /** The caller started speaking (the turn detector's speech_started): the session may warm the answer's vendors. */
  onCallerSpeech?(): void;
  apologyText: string;
  /** Start the LLM on the first sign that the caller stopped, before the turn is certain (PREEMPTIVE_GENERATION). */
  preemptiveGeneration?: boolean;
  /** Talk over the agent pauses it until the STT hears words; none, and it plays on (RESUME_FALSE_INTERRUPTIONS). */
  resumeFalseInterruptions?: boolean;
}
