// One interface, two transports: LiveKit (a real room) and the file console (a WAV in, a WAV out).
// The conversation engine sees only this: caller audio in, agent audio out, and a few room-level signals.
import type { TurnTiming } from '../../functions/contract.ts';

export type AgentState = 'initializing' | 'listening' | 'thinking' | 'speaking';

/** Agent audio going out. Writes never block; the transport paces playout in real time. */
export interface AudioSink {
  /** Sample rate the sink wants; the agent resamples to it. */
  readonly sampleRate: number;
  /** Queues agent audio (16-bit mono at `sampleRate`). */
  write(pcm: Int16Array): void;
  /** Stops playout at once (barge-in), dropping whatever is queued. Returns the ms of audio dropped. */
  clear(): number;
  /**
   * Holds playout at once, keeping every unplayed sample (even what was already handed on but not yet played), so
   * that resume() goes on from the exact sample where it stopped: a caller's sound that may be no interruption.
   */
  pause(): void;
  /** Plays on from where pause() held it. Writes while paused queue as usual. */
  resume(): void;
  readonly paused: boolean;
  /** Ms of agent audio actually played out so far (monotonic, across the whole session). */
  playedMs(): number;
  /** Ms queued and not yet played. */
  queuedMs(): number;
  /** Calls `listener` once with the epoch ms at which the next sample written leaves the worker (the turn trace). */
  onNextOut?(listener: (atEpochMs: number) => void): void;
}

export interface TransportEvents {
  /** A human caller is present (the first one arrived: greet them). */
  callerJoined(identity: string): void;
  /** The last human left the room. */
  callerLeft(identity: string): void;
}

export interface Transcription {
  /** 'user' for the caller's words, 'agent' for what the agent says. */
  speaker: 'user' | 'agent';
  text: string;
  final: boolean;
  /** Stable id so clients replace interim captions in place. */
  segmentId: string;
}

export interface Transport {
  /** Caller audio, 16-bit mono at `inputSampleRate`, in frames of 10–20 ms; ends when the caller's track or file ends. */
  readonly input: AsyncIterable<Int16Array>;
  readonly inputSampleRate: number;
  readonly output: AudioSink;
  /** Milliseconds on this transport's clock (the console's runs faster with --fast). */
  now(): number;
  /** Timers on the transport's clock: the console's virtual time must drive idle prompts and grace periods too. */
  setTimer(ms: number, fn: () => void): { cancel(): void };
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void;
  /** `lk.agent.state` participant attribute on LiveKit; recorded in the console. */
  setAgentState(state: AgentState): Promise<void>;
  /** Captions on the `lk.transcription` text-stream topic on LiveKit; recorded in the console. */
  publishTranscription(t: Transcription): Promise<void>;
  /** A finished turn's figures for people watching (the `voice.turn` attribute on LiveKit); recorded in the console. */
  publishTurnMetrics(metrics: TurnMetrics): Promise<void>;
  start(): Promise<void>;
  /** Leaves the room / finishes the output file. */
  close(): Promise<void>;
}

/**
 * What a client shows after each turn: the delay the caller just lived through and who served each stage. Published
 * by the LiveKit transport as the `voice.turn` participant attribute (JSON), so a client joining late sees the last one.
 */
export interface TurnMetrics {
  turn: number;
  /** From the end of the caller's speech to the agent's first audio; absent when no audio went out. */
  responseDelayMs?: number;
  endOfUtteranceDelayMs?: number;
  llmTtftMs?: number;
  ttsTtfbMs?: number;
  providers: { stt?: string; llm?: string; tts?: string };
  failovers: number;
  interrupted: boolean;
}

/** The figures of a recorded turn timing, rounded to whole ms (the attribute is for people, not for statistics). */
export function turnMetricsOf(timing: TurnTiming): TurnMetrics {
  const round = (v: number | undefined) => (v === undefined ? undefined : Math.round(v));
  const metrics: TurnMetrics = {
    turn: timing.turn,
    providers: { ...timing.providers },
    failovers: timing.failovers,
    interrupted: timing.interrupted,
  };
  const responseDelayMs = round(timing.endToEndMs);
  const endOfUtteranceDelayMs = round(timing.endOfUtteranceDelayMs);
  const llmTtftMs = round(timing.llmTtftMs);
  const ttsTtfbMs = round(timing.ttsTtfbMs);
  if (responseDelayMs !== undefined) metrics.responseDelayMs = responseDelayMs;
  if (endOfUtteranceDelayMs !== undefined) metrics.endOfUtteranceDelayMs = endOfUtteranceDelayMs;
  if (llmTtftMs !== undefined) metrics.llmTtftMs = llmTtftMs;
  if (ttsTtfbMs !== undefined) metrics.ttsTtfbMs = ttsTtfbMs;
  return metrics;
}
