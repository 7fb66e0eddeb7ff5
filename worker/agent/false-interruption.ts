// False interruptions: talk over the agent long enough to be a barge-in may be no words at all (a cough, a laugh, a
// door). The agent's playout is PAUSED at once (the caller hears it stop) and its reply kept alive; the STT decides:
//   - a word (interim or final) for that speech → it was an interruption: cut as a barge-in always was (clear,
//     cancel, history and captions keep what was heard);
//   - none → the agent plays on from the exact sample where it stopped (history and captions untouched).
// How soon "none" is known is the resume delay. The STT's last say on a sound is its flush once the sound's audio
// ends, so the utterance is closed as soon as the audio is quiet for `quietMs` (the early end of turn's silence) and
// the reply resumes when that flush brings no words: ≈ quietMs + the flush's latency after the sound, where LiveKit
// waits ≈ 2 s. A sound that goes on without words (noise the VAD takes for speech, an STT that says nothing) resumes
// after `maxHoldMs` at most.
import type { EngineClock } from './clock.ts';
import type { ReplyHandle, ReplyScheduler } from './reply-scheduler.ts';
import type { Utterance } from './turn-detector.ts';
import type { AgentLogger } from './types.ts';

/** The longest the agent stays paused without a word from the STT. */
export const FALSE_INTERRUPTION_MAX_HOLD_MS = 1_500;

export interface FalseInterruptionOptions {
  replies: ReplyScheduler;
  clock: EngineClock;
  log: AgentLogger;
  /** Silence after the sound before its utterance is closed (so that its STT flushes). */
  quietMs: number;
  maxHoldMs?: number;
  /** Ms of silence after `u`'s speech so far (0 while it goes on). */
  silenceAfter(u: Utterance): number;
  /** Closes `u` if it is still open and quiet (its STT flushes, its turn ends). */
  endIfQuiet(u: Utterance): void;
}

interface Hold {
  reply: ReplyHandle;
  pausedAtMs: number;
  /** The talk over the agent whose words are awaited. */
  waiting: Set<Utterance>;
  quietTimers: Map<Utterance, { cancel(): void }>;
  bound: { cancel(): void };
  /** Resumed because no word came in time: a word that still comes cuts the agent after all. */
  timedOut: boolean;
}

export class FalseInterruptions {
  readonly #o: FalseInterruptionOptions;
  #hold: Hold | undefined;
  /** Figures for the log and the harness: each hold and how it ended, with the resume delay after the sound. */
  readonly outcomes: { resumed: boolean; pausedAtMs: number; decidedAtMs: number; soundEndedAtMs?: number }[] = [];

  constructor(options: FalseInterruptionOptions) {
    this.#o = options;
  }

  /** Talk over the agent that would be a barge-in. True: the agent is paused until the STT decides. */
  suspect(u: Utterance): boolean {
    if (!this.#hold) {
      const reply = this.#o.replies.pause();
      if (!reply) return false;
      const bound = this.#o.clock.setTimer(this.#o.maxHoldMs ?? FALSE_INTERRUPTION_MAX_HOLD_MS, () => {
        if (this.#hold) this.#hold.timedOut = true;
        this.#resume('no_words_in_time');
      });
      this.#hold = { reply, pausedAtMs: this.#o.clock.now(), waiting: new Set(), quietTimers: new Map(), bound, timedOut: false };
    }
    const hold = this.#hold;
    hold.waiting.add(u);
    u.transcript.onWords((words) => {
      if (!words.trim() || !hold.waiting.has(u)) return;
      if (this.#hold === hold) this.#confirm();
      else if (hold.timedOut && !hold.reply.over) this.#o.replies.interruptAll('barge-in');
    });
    if (u.transcript.words.trim()) this.#confirm();
    return true;
  }

  /** The VAD heard silence after `u`: once it lasted `quietMs`, the sound is over and its STT is asked to flush. */
  stopped(u: Utterance): void {
    const hold = this.#hold;
    if (!hold?.waiting.has(u)) return;
    hold.quietTimers.get(u)?.cancel();
    const check = () => {
      if (this.#hold !== hold || !hold.waiting.has(u)) return;
      const left = this.#o.quietMs - this.#o.silenceAfter(u);
      if (left > 0) hold.quietTimers.set(u, this.#o.clock.setTimer(left, check));
      else this.#o.endIfQuiet(u);
    };
    check();
  }

  resumedSpeaking(u: Utterance): void {
    this.#hold?.quietTimers.get(u)?.cancel();
  }

  /** `u`'s turn ended with these words (the STT's flush is in): words confirm the interruption, none let it go on. */
  ended(u: Utterance, text: string): void {
    const hold = this.#hold;
    if (!hold?.waiting.has(u)) return;
    if (text.trim()) return this.#confirm();
    hold.waiting.delete(u);
    if (hold.waiting.size === 0) this.#resume('no_words', u.speechEndedAtMs);
  }

  #confirm(): void {
    const hold = this.#finish();
    if (!hold) return;
    this.outcomes.push({ resumed: false, pausedAtMs: hold.pausedAtMs, decidedAtMs: this.#o.clock.now() });
    if (!hold.reply.over) this.#o.replies.interruptAll('barge-in');
  }

  #resume(reason: string, soundEndedAtMs?: number): void {
    const hold = this.#finish();
    if (!hold) return;
    const nowMs = this.#o.clock.now();
    this.outcomes.push({ resumed: true, pausedAtMs: hold.pausedAtMs, decidedAtMs: nowMs, ...(soundEndedAtMs !== undefined ? { soundEndedAtMs } : {}) });
    this.#o.log.info({ event: 'false_interruption', reason, heldMs: nowMs - hold.pausedAtMs }, 'talk over the agent had no words: it plays on');
    if (!hold.reply.over) this.#o.replies.resume();
  }

  #finish(): Hold | undefined {
    const hold = this.#hold;
    if (!hold) return undefined;
    this.#hold = undefined;
    hold.bound.cancel();
    for (const t of hold.quietTimers.values()) t.cancel();
    return hold;
  }
}
