// Preemptive generation: the answer is asked for before the turn is certain, so that the end-of-turn wait and the
// LLM's first token overlap instead of adding up. The trigger is the earliest reliable sign that the caller stopped:
// the VAD hears silence after their speech while the STT has words for it (its newest hypothesis; a later final
// that differs, or a pause that turns out to be one, drops the answer). Waiting for the settled words instead would
// give nothing back on a complete sentence: they come with the STT's answer to the flush (or its endpoint), and that
// ends such a turn at once, so the LLM would start exactly when it starts anyway; a hypothesis that already holds
// every word wins the time it takes them to settle. The STT's end of speech and each newer hypothesis during the
// silence (re)start it too (the flushed words, when the hypothesis lagged: one dropped request), at most
// PREEMPTIVE_MAX_STARTS times per utterance.
//
// An answer is used only when the turn ends with the same words (normalised: case, punctuation, whitespace) and the
// conversation did not change meanwhile (reply-scheduler.ts commit()); it is dropped (LLM request aborted, nothing
// played, nothing remembered, its tokens still counted) as soon as the caller goes on, the words change, or the turn
// turns out to be none. A dropped answer never reaches the caller: speculation is held before the transport.
import type { ReplyHandle, ReplyScheduler, AnswerRequest, SpeculativeReply } from './reply-scheduler.ts';
import type { Utterance } from './turn-detector.ts';
import { TurnTrace } from './turn-trace.ts';
import type { AgentLogger } from './types.ts';

/** Speculative answers one utterance may start (the first and two re-starts): each dropped one cost tokens. */
export const PREEMPTIVE_MAX_STARTS = 3;

/** The words as the comparison sees them: case, punctuation and spacing are how the STT wrote them, not what was said. */
export function normalizeWords(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s']/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

interface Watch {
  /** The VAD hears silence after the speech (it stopped, and has not gone on since). */
  silent: boolean;
  /** Engine clock: the end of speech on the audio, as the VAD's silence began. */
  speechEndedAtMs: number;
  starts: number;
  answer?: { reply: SpeculativeReply; words: string };
}

export interface PreemptionOptions {
  replies: ReplyScheduler;
  log: AgentLogger;
  /** An utterance may be answered (it is no talk over the agent, which is no turn until it interrupts). */
  mayAnswer(u: Utterance): boolean;
  maxStarts?: number;
}

export class Preemption {
  readonly #o: PreemptionOptions;
  readonly #watch = new Map<Utterance, Watch>();
  /** Dropped answers not yet over: they leave the scheduler's queue at once, and do not keep the next one waiting. */
  readonly #dropping = new Set<ReplyHandle>();
  /** Figures for the log and the harness: answers started, used, and dropped. */
  readonly counts = { started: 0, committed: 0, dropped: 0 };

  constructor(options: PreemptionOptions) {
    this.#o = options;
  }

  opened(u: Utterance): void {
    this.#watch.set(u, { silent: false, speechEndedAtMs: u.startedAtMs, starts: 0 });
    u.transcript.onWords(() => this.#wordsChanged(u));
  }

  stopped(u: Utterance, speechEndedAtMs: number): void {
    const w = this.#watch.get(u);
    if (!w) return;
    w.silent = true;
    w.speechEndedAtMs = speechEndedAtMs;
    this.#start(u, w);
  }

  /** The caller goes on after a pause: what was asked for is an answer to half a sentence. */
  resumed(u: Utterance): void {
    const w = this.#watch.get(u);
    if (!w) return;
    w.silent = false;
    this.#drop(w, 'caller_went_on');
  }

  sttEndOfSpeech(u: Utterance): void {
    const w = this.#watch.get(u);
    if (w?.silent) this.#start(u, w);
  }

  /**
   * The turn ended with `final` words: the speculative answer if it answered exactly these words (committed, with the
   * turn's figures), else undefined (it was dropped, or there was none) and the turn is answered the usual way.
   */
  settle(u: Utterance, final: AnswerRequest): ReplyHandle | undefined {
    const w = this.#watch.get(u);
    this.#watch.delete(u);
    const answer = w?.answer;
    if (!w || !answer) return undefined;
    if (answer.words === normalizeWords(final.userText) && answer.reply.commit(final)) {
      this.counts.committed++;
      this.#o.log.info({ event: 'preempted', utterance: u.id, starts: w.starts }, 'the answer started before the turn ended');
      return answer.reply;
    }
    this.#drop(w, 'words_differ');
    return undefined;
  }

  /** The utterance is no turn to answer (no words, talk over the agent): drop what was asked for it. */
  forget(u: Utterance): void {
    const w = this.#watch.get(u);
    this.#watch.delete(u);
    if (w) this.#drop(w, 'no_turn');
  }

  #wordsChanged(u: Utterance): void {
    const w = this.#watch.get(u);
    if (!w?.silent) return;
    if (w.answer && w.answer.words === normalizeWords(u.transcript.words)) return;
    this.#drop(w, 'words_changed');
    this.#start(u, w);
  }

  #start(u: Utterance, w: Watch): void {
    const words = normalizeWords(u.transcript.words);
    if (!words || w.answer || w.starts >= (this.#o.maxStarts ?? PREEMPTIVE_MAX_STARTS) || !this.#o.mayAnswer(u)) return;
    // Only when the agent has nothing else to do: a speculation queued behind another reply would answer too late.
    if (this.#o.replies.scheduled - this.#dropping.size > 0) return;
    w.starts++;
    this.counts.started++;
    // Its own trace: a dropped answer's stage times must not pass for the turn's (commit forwards them).
    const trace = new TurnTrace();
    const reply = this.#o.replies.speculate({ userText: u.transcript.words, speechEndedAtMs: w.speechEndedAtMs, timing: {}, sttFailovers: 0, trace });
    w.answer = { reply, words };
  }

  #drop(w: Watch, reason: string): void {
    const answer = w.answer;
    if (!answer) return;
    w.answer = undefined;
    this.counts.dropped++;
    answer.reply.cancel(reason);
    if (answer.reply.over) return;
    this.#dropping.add(answer.reply);
    void answer.reply.done.then(() => this.#dropping.delete(answer.reply));
  }
}
