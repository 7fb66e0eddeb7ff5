// The conversation engine: the stages of pipeline.ts wired together. Caller frames go to the turn detector (VAD and
// STT beside each other); its events drive the reply scheduler (answers, fixed lines, barge-in); the greeting and
// the idle prompt are replies too; a caller who stays away is checked on once, then bid goodbye (user-away.ts).
// Everything runs on one clock, the transport's (clock.ts).
import type { TurnTiming } from '../../functions/contract.ts';
import { ChainExhaustedError } from '../fallback/errors.ts';
import type { Transport } from '../transport/types.ts';
import { clockOf, type EngineClock } from './clock.ts';
import { FalseInterruptions } from './false-interruption.ts';
import { ConversationHistory } from './history.ts';
import { Preemption } from './preemption.ts';
import { ReplyScheduler, type AnswerRequest, type ReplyHandle } from './reply-scheduler.ts';
import { StateMachine, type ConversationState } from './state-machine.ts';
import { TurnDetector, type TurnEvent, type Utterance } from './turn-detector.ts';
import type { ConversationOptions, VoiceActivity } from './types.ts';
import { UserAway } from './user-away.ts';

/** The answer to one utterance: replaced when late words redo it. */
interface Answered {
  handle: ReplyHandle;
  request: AnswerRequest;
}

export class Conversation {
  readonly state: StateMachine;
  readonly history: ConversationHistory;
  readonly #o: ConversationOptions;
  readonly #t: Transport;
  readonly #clock: EngineClock;
  readonly #turns: TurnDetector;
  readonly #replies: ReplyScheduler;
  readonly #answered = new Map<Utterance, Answered>();
  /** PREEMPTIVE_GENERATION: answers asked for before the turn is certain (undefined when off). */
  readonly preemption: Preemption | undefined;
  /** RESUME_FALSE_INTERRUPTIONS: talk over the agent pauses it until the STT hears words (undefined when off). */
  readonly falseInterruptions: FalseInterruptions | undefined;
  #greeted = false;
  readonly #away: UserAway;
  #lastActivityMs: number;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(options: ConversationOptions, vad: VoiceActivity) {
    this.#o = options;
    this.#t = options.transport;
    this.#clock = clockOf(this.#t);
    this.state = new StateMachine(this.#clock.now);
    this.history = new ConversationHistory(options.historyMax, options.initialHistory ?? []);
    this.#replies = new ReplyScheduler(options, this.#clock, this.state, this.history);
    this.#turns = new TurnDetector({
      clock: this.#clock,
      vad,
      stt: { ...options.stt, onOutcome: (o) => options.report.record(o) },
      sampleRate: this.#t.inputSampleRate,
      preRollMs: options.vadPreRollMs,
      endOfTurnSilenceMs: options.endOfTurnSilenceMs,
      earlyEndSilenceMs: options.earlyEndSilenceMs,
      sttFlushSilenceMs: options.sttFlushSilenceMs ?? 0,
      ...(options.endOfTurn ? { endOfTurn: options.endOfTurn } : {}),
      bargeInMinMs: options.bargeInMinMs,
      agent: () => ({ busy: this.#replies.busy && !this.#replies.speculating, thinking: this.state.state === 'thinking', yieldsAtOnce: this.#replies.yieldsAtOnce }),
      publish: (t) => void this.#t.publishTranscription(t).catch(() => undefined),
      onEvent: (ev) => this.#onTurnEvent(ev),
      log: options.log,
    });
    if (options.preemptiveGeneration) {
      this.preemption = new Preemption({ replies: this.#replies, log: options.log, mayAnswer: (u) => !u.overAgent || u.bargedIn });
    }
    if (options.resumeFalseInterruptions) {
      this.falseInterruptions = new FalseInterruptions({
        replies: this.#replies,
        clock: this.#clock,
        log: options.log,
        quietMs: options.earlyEndSilenceMs,
        silenceAfter: (u) => this.#turns.silenceAfter(u),
        endIfQuiet: (u) => void this.#turns.endIfQuiet(u),
      });
    }
    this.#lastActivityMs = this.#clock.now();
    this.#away = new UserAway({
      clock: this.#clock,
      checkInMs: options.idlePromptMs,
      checkInText: options.idlePromptText,
      goodbyeMs: options.awayGoodbyeMs ?? 0,
      goodbyeText: options.awayGoodbyeText ?? '',
      quiet: () => this.isQuiet(),
      say: (text) => this.#track(this.#replies.say(text, 'idle_prompt').done),
      log: options.log,
    });
    this.state.onTransition((tr) => {
      void this.#t.setAgentState(agentStateOf(tr.to)).catch(() => undefined);
      if (tr.to === 'listening') this.#away.listening();
    });
    this.#t.on('callerJoined', () => this.#greet());
  }

  /** Settles once the caller stayed silent through the check-in and the goodbye was said: the session should end. */
  get userAway(): Promise<void> {
    return this.#away.gone;
  }

  /** Ms since the caller or the agent last said anything: the worker's idle timeout reads it. */
  idleForMs(): number {
    return this.#clock.now() - this.#lastActivityMs;
  }

  /** True when nothing is being said, heard or prepared. */
  isQuiet(): boolean {
    return this.state.state === 'listening' && !this.#turns.utterance && this.#replies.scheduled === 0 && this.#t.output.queuedMs() === 0 && this.#pending.size === 0;
  }

  /** Consumes the caller's audio until it ends (the track or file ended, or the signal fired). */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#t.inputSampleRate !== 16_000) throw new Error(`the VAD needs 16 kHz input, the transport gives ${this.#t.inputSampleRate} Hz`);
    this.state.to('listening', 'started');
    for await (const frame of this.#t.input) {
      if (signal.aborted) break;
      await this.#turns.push(frame);
    }
    this.#turns.inputEnded();
    await Promise.allSettled([...this.#pending]);
  }

  /** Finish or cut what is in flight within `boundMs`, for shutdown. */
  async stop(boundMs: number): Promise<void> {
    this.#away.stop();
    const settled = Promise.allSettled([...this.#pending, this.#replies.idle()]);
    // Wall time: a shutdown deadline is the process's, and the transport's clock may already have stopped.
    const bound = new Promise((r) => setTimeout(r, boundMs));
    await Promise.race([settled, bound]);
    this.#replies.interruptAll('shutdown');
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p)).catch(() => undefined);
    return p;
  }

  #onTurnEvent(ev: TurnEvent): void {
    switch (ev.type) {
      case 'speech_started':
        this.#lastActivityMs = ev.atMs;
        this.#away.callerSpoke();
        // The answer's vendors are about to be asked: their pooled connections may be warmed again now.
        this.#o.onCallerSpeech?.();
        // The STT's flush finishes in the background: the run waits for it before it ends.
        void this.#track(ev.utterance.transcript.finished);
        this.preemption?.opened(ev.utterance);
        return;
      case 'interrupt':
        // Playing, it only pauses until the STT says whether there were words (false-interruption.ts).
        if (ev.reason === 'barge-in' && this.falseInterruptions?.suspect(ev.utterance)) return;
        this.#replies.interruptAll(ev.reason);
        return;
      case 'end_of_turn':
        this.#lastActivityMs = ev.atMs;
        void this.#track(this.#finishTurn(ev.utterance));
        return;
      case 'late_words':
        this.#lateWords(ev.utterance, ev.text);
        return;
      case 'speech_stopped':
        this.falseInterruptions?.stopped(ev.utterance);
        this.preemption?.stopped(ev.utterance, ev.atMs);
        return;
      case 'speech_resumed':
        this.falseInterruptions?.resumedSpeaking(ev.utterance);
        this.preemption?.resumed(ev.utterance);
        return;
      case 'stt_end_of_speech':
        this.preemption?.sttEndOfSpeech(ev.utterance);
        return;
    }
  }

  async #finishTurn(u: Utterance): Promise<void> {
    const t = await u.transcript.take();
    const finalAtMs = this.#clock.now();
    u.trace.mark('sttFinalAt');
    const speechEndedAtMs = u.speechEndedAtMs ?? finalAtMs;
    // Talk over a paused agent: its words (or their absence) say whether it was an interruption.
    this.falseInterruptions?.ended(u, t.text);
    if (t.error instanceof ChainExhaustedError) {
      this.#o.log.warn({ event: 'stt_chain_exhausted', failures: t.error.failures.length }, 'no speech-to-text provider answered');
      if (!t.text) {
        this.preemption?.forget(u);
        await this.#replies.apologize().done;
        return;
      }
    }
    // Talking over the agent briefly (a backchannel, a cough) is not a turn.
    if ((u.overAgent && !u.bargedIn) || !t.text) this.preemption?.forget(u);
    if (u.overAgent && !u.bargedIn) return;
    if (!t.text) {
      // A sound that cut an answer before it played was no turn after all: the caller still deserves that answer.
      if (u.cutThinking) await this.#replies.answerAgain(speechEndedAtMs).done;
      return;
    }
    this.#publishUserFinal(u, t.text);
    const timing: Partial<TurnTiming> = {
      endOfUtteranceDelayMs: Math.max(0, finalAtMs - speechEndedAtMs),
      sttFinalLatencyMs: Math.max(0, finalAtMs - (u.audioEndedAtMs ?? finalAtMs)),
      ...(t.provider ? { providers: { stt: t.provider } } : {}),
    };
    const request: AnswerRequest = { userText: t.text, speechEndedAtMs, timing, sttFailovers: t.failovers, trace: u.trace };
    const preempted = this.preemption?.settle(u, request);
    const answered: Answered = { handle: preempted ?? this.#replies.answer(request), request };
    this.#answered.set(u, answered);
    // Late words may replace the answer: wait for whichever answers the turn in the end.
    for (let handle; handle !== answered.handle; ) {
      handle = answered.handle;
      await handle.done;
    }
    this.#answered.delete(u);
    u.trace.emit(this.#o.log, { utterance: u.id, words: answered.request.userText.split(/\s+/).length, preempted: preempted !== undefined && answered.handle === preempted });
    this.#lastActivityMs = this.#clock.now();
  }

  /** The STT's flush brought words after the answer began: one answer still, to all of them (reply-scheduler.ts). */
  #lateWords(u: Utterance, text: string): void {
    const answered = this.#answered.get(u);
    if (!answered) return;
    const userText = `${answered.request.userText} ${text}`;
    answered.request = { ...answered.request, userText };
    this.#publishUserFinal(u, userText);
    const redo = this.#replies.amend(answered.handle, text, answered.request);
    if (redo) answered.handle = redo;
    this.#o.log.info({ event: 'late_words', utterance: u.id, redone: redo !== undefined }, 'the caller had more to say');
  }

  #publishUserFinal(u: Utterance, text: string): void {
    void this.#t.publishTranscription({ speaker: 'user', text, final: true, segmentId: `user-${u.id}` }).catch(() => undefined);
  }

  #greet(): void {
    if (this.#greeted) return;
    this.#greeted = true;
    const greeting = this.#o.greeting;
    if (greeting) void this.#track(this.#replies.say(greeting, 'greeting').done);
  }
}

function agentStateOf(state: ConversationState): 'initializing' | 'listening' | 'thinking' | 'speaking' {
  return state === 'idle' ? 'initializing' : state;
}
