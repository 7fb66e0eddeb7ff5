// Reply scheduling: the agent's side of each turn, one reply at a time. A reply is an LLM answer or a fixed line
// (greeting, idle prompt, apology); both take the ONE speak path (answer.ts), play out to the end or are cut by
// barge-in, and go into history as what the caller actually heard. Each reply has a handle: it can be cancelled
// before it was heard (the caller turned out to have more to say) and redone with the whole of their words.
import type { TurnTiming } from '../../functions/contract.ts';
import { ChainExhaustedError } from '../fallback/errors.ts';
import type { ChatMessage } from '../providers/types.ts';
import { turnMetricsOf } from '../transport/types.ts';
import { speakAnswer, type AnswerDeps, type ReplySource } from './answer.ts';
import { droppedAnswerCost } from './dropped-answer-cost.ts';
import type { EngineClock } from './clock.ts';
import type { SpokenTimeline } from './heard-text.ts';
import type { ConversationHistory } from './history.ts';
import type { StateMachine } from './state-machine.ts';
import type { TurnTrace } from './turn-trace.ts';
import type { ConversationOptions } from './types.ts';
import { waitOn } from './wait.ts';

export type ReplyKind = 'answer' | 'greeting' | 'idle_prompt' | 'apology';

/** A scheduled reply, from the moment it is asked for until it has played (or was cut or cancelled). */
export interface ReplyHandle {
  readonly kind: ReplyKind;
  /** Settles when the reply is over, however it ended. */
  readonly done: Promise<void>;
  /** Some of its audio has been played to the caller. */
  readonly heard: boolean;
  /** It ran to its end, was cut, or was cancelled. */
  readonly over: boolean;
  /** Drops the reply: not started yet, it never starts; running, it stops at once. */
  cancel(reason: string): void;
}

/** A reply started before the turn is certain (preemptive generation): the LLM runs, nothing is said yet. */
export interface SpeculativeReply extends ReplyHandle {
  /**
   * The turn ended with these words: the caller's words go into history and the answer may be spoken. `final` brings
   * the turn's figures (and the words as the STT finally wrote them). False when the answer can no longer be used: it
   * was dropped or is over, or the conversation changed since it was asked for (it would be stale).
   */
  commit(final?: Partial<AnswerRequest>): boolean;
}

export interface AnswerRequest {
  userText: string;
  /** On the transport's clock: the caller's end of speech (the figures count from it). */
  speechEndedAtMs: number;
  timing: Partial<TurnTiming>;
  sttFailovers: number;
  trace?: TurnTrace;
}

class Reply implements ReplyHandle {
  readonly controller = new AbortController();
  readonly done: Promise<void>;
  settle: () => void = () => undefined;
  /** Played position of the output when the caller cut in. */
  cutAtPlayedMs: number | undefined;
  /** Speculative: nothing is spoken until this settles. */
  held: Promise<void> | undefined;
  /** Written position of the output when the reply began: audio past it is this reply's. */
  startWrittenMs: number | undefined;
  /** Replaced by a reply to more of the caller's words: it is no turn of its own (no figures, no captions kept). */
  superseded = false;
  over = false;
  /** Its work began (for an answer: the caller's words are in history). */
  started = false;
  /** Speculative and not committed (yet): no figures, no history of its own. */
  uncommitted = false;
  /** Its first audio was queued. */
  spoke = false;
  /** Started as a speculation (preemptive generation), then committed. */
  preempted = false;
  readonly kind: ReplyKind;
  readonly #played: () => number;

  constructor(kind: ReplyKind, played: () => number) {
    this.kind = kind;
    this.#played = played;
    this.done = new Promise((r) => (this.settle = r));
  }

  get heard(): boolean {
    return this.startWrittenMs !== undefined && (this.cutAtPlayedMs ?? this.#played()) > this.startWrittenMs;
  }

  cancel(reason: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(new Error(reason));
  }
}

export class ReplyScheduler {
  readonly #o: ConversationOptions;
  readonly #clock: EngineClock;
  readonly #state: StateMachine;
  readonly #history: ConversationHistory;
  #current: Reply | undefined;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #turn = 0;
  #answers = 0;
  #lines = 0;
  /** The reply whose playout is held (talk over it that may be no interruption). */
  #pausedFor: Reply | undefined;

  constructor(options: ConversationOptions, clock: EngineClock, state: StateMachine, history: ConversationHistory) {
    this.#o = options;
    this.#clock = clock;
    this.#state = state;
    this.#history = history;
  }

  /** The agent is thinking or speaking (including audio still playing out). */
  get busy(): boolean {
    return this.#current !== undefined;
  }

  /** Replies asked for and not over yet (running or waiting their turn). */
  get scheduled(): number {
    return this.#pending;
  }

  /**
   * What the agent is saying gives way as soon as the caller speaks: a courtesy (greeting, idle prompt), or a preempted
   * answer that has not yet played a barge-in's worth. Preemption moves an answer forward by about the LLM's first
   * token: a caller who goes on after a pause the turn detector took for the end meets that answer at its very
   * start, where without preemption it would still be thinking (and be cancelled at once).
   */
  get yieldsAtOnce(): boolean {
    const c = this.#current;
    if (c?.kind === 'greeting' || c?.kind === 'idle_prompt') return true;
    if (!c?.preempted || c.startWrittenMs === undefined) return false;
    return !c.spoke || this.#o.transport.output.playedMs() - c.startWrittenMs < this.#o.bargeInMinMs;
  }

  async idle(): Promise<void> {
    await this.#queue;
  }

  /** Barge-in or shutdown: stop playback at once and cancel the LLM and TTS work in flight. */
  interruptAll(reason: string): void {
    const c = this.#current;
    if (!c || c.controller.signal.aborted) return;
    const sink = this.#o.transport.output;
    c.cutAtPlayedMs = sink.playedMs();
    sink.clear();
    // Cut while held: the caller heard it stop at the pause; the next reply must not start paused.
    this.#unpause();
    c.cancel(reason);
    this.#state.to('listening', reason);
    this.#o.log.info({ event: 'interrupted', reason }, 'agent interrupted');
  }

  /**
   * Talk over the agent that may be no interruption: playout holds at once (nothing is dropped) and the reply goes on
   * being prepared. Then either `interruptAll` (it was one) or `resume` (it was not). Returns the held reply, or
   * undefined when there is nothing to hold (nothing playing, already cut, or only a speculation).
   */
  pause(): ReplyHandle | undefined {
    const c = this.#current;
    if (!c || c.controller.signal.aborted || c.uncommitted) return undefined;
    this.#o.transport.output.pause();
    this.#pausedFor = c;
    this.#state.to('listening', 'paused');
    this.#o.log.info({ event: 'paused' }, 'agent paused: talk over it');
    return c;
  }

  /** Plays on from the exact sample where `pause` held it. */
  resume(): void {
    const c = this.#pausedFor;
    if (!c) return;
    this.#unpause();
    if (this.#current === c && !c.controller.signal.aborted) this.#state.to(c.spoke ? 'speaking' : 'thinking', 'resumed');
    this.#o.log.info({ event: 'resumed' }, 'agent resumed: the talk over it had no words');
  }

  get paused(): boolean {
    return this.#pausedFor !== undefined;
  }

  #unpause(): void {
    this.#pausedFor = undefined;
    if (this.#o.transport.output.paused) this.#o.transport.output.resume();
  }

  /** The caller's turn, answered by the LLM once the reply before it is over. */
  answer(request: AnswerRequest): ReplyHandle {
    return this.#schedule('answer', async (reply) => {
      this.#addUser(request.userText);
      return this.#respond(reply, request);
    });
  }

  /** Answers the caller's last words again (the answer to them was cut before it played, by what was no turn). */
  answerAgain(speechEndedAtMs: number): ReplyHandle {
    return this.#schedule('answer', async (reply) => {
      const last = this.#history.messages.at(-1);
      if (last?.role !== 'user') return undefined;
      return this.#respond(reply, { userText: last.text, speechEndedAtMs, timing: {}, sttFailovers: 0 });
    });
  }

  /**
   * The caller's words of a turn already answered grew (a late final from the STT's flush). Unheard, the answer is
   * dropped and the whole is answered instead; heard, the words only go into history, for the next turn. Never a
   * second answer.
   */
  amend(previous: ReplyHandle, moreText: string, request: AnswerRequest): ReplyHandle | undefined {
    // Over already (played, or cut by the caller's next words): redoing it now would be a second answer.
    if (previous.heard || previous.over) {
      this.#addUser(moreText);
      return undefined;
    }
    if (previous instanceof Reply) previous.superseded = true;
    if (this.#current === previous) this.interruptAll('caller_added');
    else previous.cancel('caller_added');
    const previousStarted = () => previous instanceof Reply && previous.started;
    return this.#schedule('answer', async (reply) => {
      // `request.userText` is the whole; history holds the first part only if the dropped answer got to start.
      this.#addUser(previousStarted() ? moreText : request.userText);
      return this.#respond(reply, request);
    });
  }

  /**
   * Starts answering before the turn is certain. Until `commit()` nothing is spoken, the agent stays listening and
   * history is untouched; `cancel()` drops it without a trace (no audio, no history, no turn figures).
   */
  speculate(request: AnswerRequest): SpeculativeReply {
    let open: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (open = resolve));
    // Its own copy: commit() brings the turn's final figures into it.
    const live: AnswerRequest = { ...request };
    const revision = this.#history.revision;
    const handle = this.#schedule('answer', async (reply) => this.#respond(reply, live, held)) as Reply;
    handle.held = held;
    handle.uncommitted = true;
    return Object.assign(handle, {
      commit: (final: Partial<AnswerRequest> = {}) => {
        if (!handle.uncommitted || handle.over || handle.controller.signal.aborted) return false;
        // The model was asked with the conversation as it stood: anything added since would make the answer stale.
        if (this.#history.revision !== revision) return false;
        if (final.trace && live.trace && final.trace !== live.trace) live.trace.forwardTo(final.trace);
        Object.assign(live, final);
        handle.uncommitted = false;
        handle.preempted = true;
        this.#addUser(live.userText);
        if (this.#current === handle) this.#state.to('thinking', 'end of turn');
        open();
        return true;
      },
    });
  }

  /** A fixed line: the greeting, the idle prompt, the apology. */
  say(text: string, kind: Exclude<ReplyKind, 'answer'>): ReplyHandle {
    return this.#schedule(kind, async (reply) => {
      const result = await this.#speak(reply, { text }, `${kind}-${++this.#lines}`);
      this.#remember(reply, result.text, result.timeline);
      return result.exhausted;
    });
  }

  /** Every provider of a chain failed: tell the caller briefly, through whatever TTS still works, and keep listening. */
  apologize(): ReplyHandle {
    return this.say(this.#o.apologyText, 'apology');
  }

  /** `held`: a speculative answer, which asks the LLM with the caller's words not yet in history, and speaks once it settles. */
  async #respond(reply: Reply, request: AnswerRequest, held?: Promise<void>): Promise<ChainExhaustedError | undefined> {
    const segment = `agent-${++this.#answers}`;
    if (!held) this.#state.to('thinking', 'end of turn');
    const messages = held ? withUser(this.#history.forModel(), request.userText) : this.#history.forModel();
    const llm = { system: this.#o.systemPrompt, messages, maxTokens: this.#o.llmMaxTokens, ...(held ? { speculative: true } : {}) };
    const startedAtEpochMs = this.#clock.epochMs();
    const startedAtMs = this.#clock.now();
    const result = await this.#speak(reply, { llm }, segment, request.trace);
    if (reply.uncommitted) {
      const cost = droppedAnswerCost(result, Math.max(0, this.#clock.now() - startedAtMs), startedAtEpochMs);
      if (cost) this.#o.report.record(cost);
      return undefined;
    }
    const text = this.#remember(reply, result.text, result.timeline, segment);
    if (reply.superseded) return undefined;
    const interrupted = reply.cutAtPlayedMs !== undefined;
    const turnTiming: TurnTiming = {
      turn: ++this.#turn,
      ...request.timing,
      ...(result.llmTtftMs !== undefined ? { llmTtftMs: result.llmTtftMs } : {}),
      ...(result.ttsTtfbMs !== undefined ? { ttsTtfbMs: result.ttsTtfbMs } : {}),
      ...(result.firstAudioAtMs !== undefined ? { endToEndMs: Math.max(0, result.firstAudioAtMs - request.speechEndedAtMs) } : {}),
      providers: { ...request.timing.providers, ...result.providers },
      failovers: request.sttFailovers + result.failovers,
      interrupted,
    };
    void this.#o.transport.publishTurnMetrics(turnMetricsOf(turnTiming)).catch(() => undefined);
    this.#o.report.recordTurn(turnTiming, {
      userText: request.userText,
      agentText: text,
      userSpeechEndedAtMs: request.speechEndedAtMs,
      ...(result.firstAudioAtMs !== undefined ? { agentAudioStartedAtMs: result.firstAudioAtMs } : {}),
    });
    return result.exhausted;
  }

  /** The one speak path, then the drain: synthesis runs ahead of playout, so most barge-ins land while it drains. */
  async #speak(reply: Reply, source: ReplySource, segmentId: string, trace?: TurnTrace) {
    const sink = this.#o.transport.output;
    reply.startWrittenMs = sink.playedMs() + sink.queuedMs();
    const deps = { ...this.#deps(reply), ...(reply.held ? { held: reply.held } : {}) };
    const result = await speakAnswer(deps, source, segmentId, reply.controller.signal, trace);
    await this.#drain(reply.controller.signal);
    return result;
  }

  #schedule(kind: ReplyKind, work: (reply: Reply) => Promise<ChainExhaustedError | undefined>): ReplyHandle {
    const reply: Reply = new Reply(kind, () => this.#o.transport.output.playedMs());
    this.#pending++;
    const run = async () => {
      if (reply.controller.signal.aborted) return;
      this.#current = reply;
      reply.started = true;
      let exhausted: ChainExhaustedError | undefined;
      try {
        exhausted = await work(reply);
      } catch (err) {
        if (!reply.controller.signal.aborted) {
          this.#o.log.error({ event: 'turn_failed', reason: err instanceof Error ? err.message : String(err) }, 'turn failed');
        }
      } finally {
        if (this.#pausedFor === reply) this.#unpause();
        this.#current = undefined;
        if (this.#state.state !== 'listening') this.#state.to('listening', 'turn over');
      }
      if (exhausted) {
        this.#o.log.warn({ event: 'chain_exhausted', modality: exhausted.modality }, 'every provider of a chain failed');
        // An exhausted TTS chain can't apologise either; the breakers let it try again next turn.
        if (exhausted.modality !== 'tts' && kind !== 'apology') this.apologize();
      }
    };
    // One reply at a time, in the order they were asked for.
    this.#queue = this.#queue.then(run).finally(() => {
      reply.over = true;
      this.#pending--;
      reply.settle();
    });
    return reply;
  }

  #deps(reply: Reply): AnswerDeps {
    const kind = reply.kind;
    return {
      llm: this.#o.llm,
      tts: this.#o.tts,
      sink: this.#o.transport.output,
      now: () => this.#clock.now(),
      resampler: this.#o.resampler,
      onOutcome: (o) => this.#o.report.record(o),
      publish: (t) => void this.#o.transport.publishTranscription(t).catch(() => undefined),
      onFirstAudio: () => {
        reply.spoke = true;
        // Held: the caller hears nothing yet, and resume() says when it speaks.
        if (this.#pausedFor !== reply) this.#state.to('speaking', kind === 'answer' ? 'first audio' : kind);
      },
      setTimer: this.#clock.setTimer,
    };
  }

  async #drain(signal: AbortSignal): Promise<void> {
    const sink = this.#o.transport.output;
    while (!signal.aborted && sink.queuedMs() > 0) {
      await waitOn(this.#clock.setTimer, Math.min(100, Math.max(10, sink.queuedMs())), signal);
    }
  }

  /** Writes what the caller heard of a reply to history; returns it. */
  #remember(reply: Reply, fullText: string, timeline: SpokenTimeline, captionPrefix?: string): string {
    const interrupted = reply.cutAtPlayedMs !== undefined;
    const text = interrupted ? timeline.heardText(reply.cutAtPlayedMs!) : fullText;
    if (interrupted && captionPrefix) this.#correctCaptions(timeline, reply.cutAtPlayedMs!, captionPrefix);
    if (text.trim()) {
      const message = { role: 'assistant' as const, text, ...(interrupted ? { interrupted: true } : {}), atMs: Math.round(this.#clock.epochMs()) };
      this.#history.add(message);
      this.#o.report.appendHistory([message]);
    }
    return text;
  }

  #addUser(text: string): void {
    const user = { role: 'user' as const, text, atMs: Math.round(this.#clock.epochMs()) };
    this.#history.add(user);
    this.#o.report.appendHistory([user]);
  }

  /** Whether the reply in progress is only speculative (not committed): the caller is not talking over it. */
  get speculating(): boolean {
    return this.#current?.uncommitted === true;
  }

  /**
   * Captions go out as each sentence is queued, ahead of playout: after a barge-in, each one is replaced by what the
   * caller actually heard of it (empty for sentences never played), so the captions show only what was said.
   */
  #correctCaptions(timeline: SpokenTimeline, cutAtPlayedMs: number, segmentPrefix: string): void {
    for (const span of timeline.heardSpans(cutAtPlayedMs)) {
      if (span.heard === span.text) continue;
      const caption = { speaker: 'agent' as const, text: span.heard, final: true, segmentId: `${segmentPrefix}-${span.index}` };
      void this.#o.transport.publishTranscription(caption).catch(() => undefined);
    }
  }
}

/** The model's messages with the caller's words of a turn not yet in history (merged, as history.add would). */
function withUser(messages: ChatMessage[], text: string): ChatMessage[] {
  const last = messages.at(-1);
  if (last?.role === 'user') return [...messages.slice(0, -1), { role: 'user', text: `${last.text} ${text}` }];
  return [...messages, { role: 'user', text }];
}
