// Where a turn's time goes, stage by stage: one `turn_trace` line (info) per answered turn, so a bench in another
// process can lay each stage against its own clock. Times are EPOCH milliseconds (performance.timeOrigin +
// performance.now()): two processes on one machine share that clock to well under a millisecond, which the transports'
// own clocks (the console's may run 20× fast) do not. Word counts only, never the words: it is logged at info.
import { wallEpochMs } from './clock.ts';
import type { AgentLogger } from './types.ts';

/** Wall-clock epoch ms with sub-ms precision (the engine clock's `epochMs`, for the transports' out-watch). */
export const epochMs = wallEpochMs;

/** The stages in the order a turn passes them (the bench and the unit test rely on this order). */
export const TRACE_STAGES = [
  /** The VAD first heard silence at the end of the caller's speech (the end-of-turn wait starts). */
  'vadSilenceAt',
  /** The utterance was closed: audio to STT ended (by `endSignal`). */
  'turnEndAt',
  /** The STT chain's final transcript was in hand. */
  'sttFinalAt',
  /** The LLM chain was asked. */
  'llmRequestAt',
  'llmFirstTokenAt',
  /** The first chunk of text went to the TTS chain (`firstTextWords` words long). */
  'ttsFirstTextAt',
  'ttsFirstByteAt',
  /** The first frame of the answer left the worker (handed to WebRTC, or laid on the console's output timeline). */
  'firstFrameOutAt',
] as const;

export type TraceStage = (typeof TRACE_STAGES)[number];

/** What ended the caller's turn. */
export type EndSignal = 'vad_silence' | 'stt_endpoint' | 'input_ended' | 'no_words';

export class TurnTrace {
  readonly at: Partial<Record<TraceStage, number>> = {};
  endSignal: EndSignal | undefined;
  firstTextWords: number | undefined;
  /**
   * When the conversation loop took in the utterance's last loud frame (not a stage: it may trail vadSilenceAt): it
   * splits the time before the VAD hears silence into the transport's share (queueing included) and the VAD's.
   */
  lastLoudInAt: number | undefined;
  /** Not stages either (a turn may end without them): when the STT was asked for the words so far, and answered. */
  sttFlushAt: number | undefined;
  sttFlushedAt: number | undefined;
  /** The silence the end-of-turn detector judged this turn's last pause needed (absent without a detector). */
  endOfTurnWaitMs: number | undefined;
  #emitted = false;
  /** A speculative answer's trace, once the answer became the turn's: its marks go to the turn's trace. */
  #into: TurnTrace | undefined;

  /** The first mark of a stage wins: later passes (a second sentence, a failover) are not "first". */
  mark(stage: TraceStage, atMs: number = wallEpochMs()): void {
    if (this.#into) return this.#into.mark(stage, atMs);
    this.at[stage] ??= atMs;
  }

  setFirstTextWords(words: number): void {
    if (this.#into) return this.#into.setFirstTextWords(words);
    this.firstTextWords = words;
  }

  /**
   * A speculative answer keeps its own trace (a dropped one must not leave its marks on the turn); when it is
   * committed, what it marked so far and all it marks from now on belong to the turn's trace.
   */
  forwardTo(turn: TurnTrace): void {
    for (const stage of TRACE_STAGES) if (this.at[stage] !== undefined) turn.mark(stage, this.at[stage]);
    if (this.firstTextWords !== undefined) turn.setFirstTextWords(this.firstTextWords);
    this.#into = turn;
  }

  /** Forgets a stage (the VAD heard speech again: its silence was a pause, not the end). */
  unmark(stage: TraceStage): void {
    delete this.at[stage];
  }

  /** One line per turn, once; `extra` says how the turn went (its number, interrupted…). */
  emit(log: AgentLogger, extra: Record<string, unknown> = {}): void {
    if (this.#emitted) return;
    this.#emitted = true;
    const stages = Object.fromEntries(TRACE_STAGES.filter((s) => this.at[s] !== undefined).map((s) => [s, Math.round(this.at[s]! * 10) / 10]));
    const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 10) / 10);
    log.info(
      {
        event: 'turn_trace',
        ...extra,
        endSignal: this.endSignal,
        firstTextWords: this.firstTextWords,
        lastLoudInAt: round(this.lastLoudInAt),
        sttFlushAt: round(this.sttFlushAt),
        sttFlushedAt: round(this.sttFlushedAt),
        endOfTurnWaitMs: this.endOfTurnWaitMs,
        ...stages,
      },
      'turn trace',
    );
  }
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w.length > 0).length;
}

/** RMS (int16) above which a frame holds sound: the bench's callers judge their own audio with the same figure. */
export const LOUD_RMS = 300;

export function isLoud(pcm: Int16Array): boolean {
  let sum = 0;
  for (const v of pcm) sum += v * v;
  return pcm.length > 0 && Math.sqrt(sum / pcm.length) > LOUD_RMS;
}
