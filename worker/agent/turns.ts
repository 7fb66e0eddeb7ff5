// Running the agent's side of each turn, one at a time: an LLM answer or a fixed line (greeting, idle prompt,
// apology), played out to the end or cut by barge-in, then written to history as what the caller actually heard.
import type { TurnTiming } from '../../functions/contract.ts';
import { ChainExhaustedError } from '../fallback/errors.ts';
import { speakAnswer, type AnswerDeps } from './answer.ts';
import { SpokenTimeline } from './heard-text.ts';
import type { ConversationHistory } from './history.ts';
import type { StateMachine } from './state-machine.ts';
import { turnMetricsOf } from '../transport/types.ts';
import type { TurnTrace } from './turn-trace.ts';
import type { ConversationOptions } from './types.ts';
import { waitOn, type SetTimer } from './wait.ts';

interface Running {
  kind: string;
  controller: AbortController;
  done: Promise<void>;
  /** Played position of the output when the caller cut in. */
  cutAtPlayedMs?: number;
}

export class TurnRunner {
  readonly #o: ConversationOptions;
  readonly #state: StateMachine;
  readonly #history: ConversationHistory;
  #current: Running | undefined;
  #turn = 0;

  constructor(options: ConversationOptions, state: StateMachine, history: ConversationHistory) {
    this.#o = options;
    this.#state = state;
    this.#history = history;
  }

  /** The agent is thinking or speaking (including audio still playing out). */
  get busy(): boolean {
    return this.#current !== undefined;
  }

  /** What the agent is saying is only a courtesy (greeting, idle prompt): it gives way as soon as the caller speaks. */
  get yieldsAtOnce(): boolean {
    const kind = this.#current?.kind;
    return kind === 'greeting' || kind === 'idle_prompt';
  }

  async idle(): Promise<void> {
    await this.#turnFree();
  }

  /** One turn at a time: several waiters may wake on the same finish, so each checks again (#run takes it synchronously). */
  async #turnFree(): Promise<void> {
    while (this.#current) await this.#current.done;
  }

  /** Barge-in or shutdown: stop playback at once and cancel the LLM and TTS work in flight. */
  interruptAll(reason: string): void {
    const c = this.#current;
    if (!c || c.controller.signal.aborted) return;
    c.cutAtPlayedMs = this.#o.transport.output.playedMs();
    this.#o.transport.output.clear();
    c.controller.abort(new Error(reason));
    this.#state.to('listening', reason);
    this.#o.log.info({ event: 'interrupted', reason }, 'agent interrupted');
  }

  async answer(userText: string, speechEndedAtMs: number, timing: Partial<TurnTiming>, sttFailovers: number, trace?: TurnTrace): Promise<void> {
    await this.#turnFree();
    const user = { role: 'user' as const, text: userText, atMs: Date.now() };
    this.#history.add(user);
    this.#o.report.appendHistory([user]);
    await this.#respond(userText, speechEndedAtMs, timing, sttFailovers, trace);
  }

  /** Answers the caller's last words again (the answer to them was cut before it played, by what was no turn). */
  async answerAgain(speechEndedAtMs: number): Promise<void> {
    await this.#turnFree();
    const last = this.#history.messages.at(-1);
    if (last?.role !== 'user') return;
    await this.#respond(last.text, speechEndedAtMs, {}, 0);
  }

  async #respond(userText: string, speechEndedAtMs: number, timing: Partial<TurnTiming>, sttFailovers: number, trace?: TurnTrace): Promise<void> {
    const turn = ++this.#turn;
    await this.#run('answer', async (running) => {
      this.#state.to('thinking', 'end of turn');
      const request = { system: this.#o.systemPrompt, messages: this.#history.forModel(), maxTokens: this.#o.llmMaxTokens };
      const result = await speakAnswer(this.#deps(), request, `agent-${turn}`, running.controller.signal, trace);
      // Synthesis runs ahead of playout, so most barge-ins land while the queued audio drains: judge after it.
      await this.#drain(running.controller.signal);
      const interrupted = running.cutAtPlayedMs !== undefined;
      const text = interrupted ? result.timeline.heardText(running.cutAtPlayedMs!) : result.text;
      this.#remember(text, interrupted);
      if (interrupted) this.#correctCaptions(result.timeline, running.cutAtPlayedMs!, `agent-${turn}`);
      const turnTiming: TurnTiming = {
        turn,
        ...timing,
        ...(result.llmTtftMs !== undefined ? { llmTtftMs: result.llmTtftMs } : {}),
        ...(result.ttsTtfbMs !== undefined ? { ttsTtfbMs: result.ttsTtfbMs } : {}),
        ...(result.firstAudioAtMs !== undefined ? { endToEndMs: Math.max(0, result.firstAudioAtMs - speechEndedAtMs) } : {}),
        providers: { ...timing.providers, ...result.providers },
        failovers: sttFailovers + result.failovers,
        interrupted,
      };
      void this.#o.transport.publishTurnMetrics(turnMetricsOf(turnTiming)).catch(() => undefined);
      this.#o.report.recordTurn(turnTiming, {
        userText,
        agentText: text,
        userSpeechEndedAtMs: speechEndedAtMs,
        ...(result.firstAudioAtMs !== undefined ? { agentAudioStartedAtMs: result.firstAudioAtMs } : {}),
      });
      return result.exhausted;
    });
  }

  /** A fixed line through TTS only: the greeting, the idle prompt, the apology. */
  async say(text: string, kind: string): Promise<void> {
    await this.#turnFree();
    await this.#run(kind, async (running) => {
      const timeline = await this.#speakFixed(text, kind, running.controller.signal);
      await this.#drain(running.controller.signal);
      const interrupted = running.cutAtPlayedMs !== undefined;
      this.#remember(interrupted ? timeline.heardText(running.cutAtPlayedMs!) : text, interrupted);
      return undefined;
    });
  }

  /** Every provider of a chain failed: tell the caller briefly, through whatever TTS still works, and keep listening. */
  async apologize(): Promise<void> {
    await this.say(this.#o.apologyText, 'apology');
  }

  async #run(kind: string, work: (running: Running) => Promise<ChainExhaustedError | undefined>): Promise<void> {
    let finish: () => void = () => undefined;
    const running: Running = { kind, controller: new AbortController(), done: new Promise((r) => (finish = r)) };
    this.#current = running;
    let exhausted: ChainExhaustedError | undefined;
    try {
      exhausted = await work(running);
    } catch (err) {
      if (!running.controller.signal.aborted) {
        this.#o.log.error({ event: 'turn_failed', reason: err instanceof Error ? err.message : String(err) }, 'turn failed');
      }
    } finally {
      this.#current = undefined;
      if (this.#state.state !== 'listening') this.#state.to('listening', 'turn over');
      finish();
    }
    if (exhausted) {
      this.#o.log.warn({ event: 'chain_exhausted', modality: exhausted.modality }, 'every provider of a chain failed');
      // An exhausted TTS chain can't apologise either; the breakers let it try again next turn.
      if (exhausted.modality !== 'tts') await this.apologize();
    }
  }

  #deps(): AnswerDeps {
    return {
      llm: this.#o.llm,
      tts: this.#o.tts,
      sink: this.#o.transport.output,
      now: () => this.#o.transport.now(),
      resampler: this.#o.resampler,
      onOutcome: (o) => this.#o.report.record(o),
      publish: (t) => void this.#o.transport.publishTranscription(t).catch(() => undefined),
      onFirstAudio: () => this.#state.to('speaking', 'first audio'),
      setTimer: this.#setTimer,
    };
  }

  readonly #setTimer: SetTimer = (ms, fn) => this.#o.transport.setTimer(ms, fn);

  async #speakFixed(text: string, kind: string, signal: AbortSignal): Promise<SpokenTimeline> {
    const sink = this.#o.transport.output;
    const timeline = new SpokenTimeline(sink.playedMs() + sink.queuedMs());
    const resamplers = new Map<number, ReturnType<ConversationOptions['resampler']>>();
    let first = true;
    try {
      for await (const ev of this.#o.tts.speak(text, signal)) {
        if (ev.type !== 'audio' || signal.aborted) continue;
        let pcm = ev.pcm;
        if (ev.sampleRate !== sink.sampleRate) {
          let r = resamplers.get(ev.sampleRate);
          if (!r) resamplers.set(ev.sampleRate, (r = this.#o.resampler(ev.sampleRate, sink.sampleRate)));
          pcm = r.process(pcm);
        }
        sink.write(pcm);
        timeline.add(text, (pcm.length / sink.sampleRate) * 1000, 0);
        if (first) {
          first = false;
          this.#state.to('speaking', kind);
          void this.#o.transport.publishTranscription({ speaker: 'agent', text, final: true, segmentId: `${kind}-${Date.now()}` }).catch(() => undefined);
        }
      }
    } catch (err) {
      if (!signal.aborted) this.#o.log.warn({ event: 'fixed_line_failed', kind, reason: err instanceof Error ? err.message : String(err) }, 'could not say a fixed line');
    }
    return timeline;
  }

  async #drain(signal: AbortSignal): Promise<void> {
    const sink = this.#o.transport.output;
    while (!signal.aborted && sink.queuedMs() > 0) {
      await waitOn(this.#setTimer, Math.min(100, Math.max(10, sink.queuedMs())), signal);
    }
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

  #remember(text: string, interrupted: boolean): void {
    if (!text.trim()) return;
    const message = { role: 'assistant' as const, text, ...(interrupted ? { interrupted: true } : {}), atMs: Date.now() };
    this.#history.add(message);
    this.#o.report.appendHistory([message]);
  }
}
