// The conversation engine: caller audio in, through VAD and turn detection to STT; finished turns to the answer
// pipeline; barge-in when the caller talks over the agent long enough; greeting and idle prompt.
import type { TurnTiming } from '../../functions/contract.ts';
import { ChainExhaustedError } from '../fallback/errors.ts';
import { transcribeUtterance } from '../fallback/stt-chain.ts';
import type { Transport } from '../transport/types.ts';
import { AsyncQueue } from './async-queue.ts';
import { ConversationHistory } from './history.ts';
import { StateMachine, type ConversationState } from './state-machine.ts';
import { TurnTrace, epochMs, isLoud, type EndSignal } from './turn-trace.ts';
import { TurnRunner } from './turns.ts';
import type { ConversationOptions, VoiceActivity } from './types.ts';

interface Utterance {
  id: number;
  audio: AsyncQueue<Int16Array>;
  startedAtMs: number;
  speechMs: number;
  /** Began while the agent was thinking or speaking: a backchannel unless it grows into a barge-in. */
  overAgent: boolean;
  bargedIn: boolean;
  /** It cut an answer that had not started playing: if it turns out to be no turn (a cough), that answer is redone. */
  cutThinking: boolean;
  finals: string[];
  transcript: Promise<{ text: string; provider?: string; failovers: number; error?: unknown }>;
  speechEndedAtMs?: number;
  audioEndedAtMs?: number;
  /** Stage times for the `turn_trace` log line. */
  trace: TurnTrace;
}

export class Conversation {
  readonly state: StateMachine;
  readonly history: ConversationHistory;
  readonly #o: ConversationOptions;
  readonly #t: Transport;
  readonly #vad: VoiceActivity;
  readonly #turns: TurnRunner;
  #utterance: Utterance | undefined;
  #utteranceCount = 0;
  #greeted = false;
  #idleTimer: { cancel(): void } | undefined;
  #idlePrompted = false;
  #lastActivityMs: number;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(options: ConversationOptions, vad: VoiceActivity) {
    this.#o = options;
    this.#t = options.transport;
    this.#vad = vad;
    this.state = new StateMachine(() => this.#t.now());
    this.history = new ConversationHistory(options.historyMax, options.initialHistory ?? []);
    this.#turns = new TurnRunner(options, this.state, this.history);
    this.#lastActivityMs = this.#t.now();
    this.state.onTransition((tr) => {
      void this.#t.setAgentState(agentStateOf(tr.to)).catch(() => undefined);
      if (tr.to === 'listening') this.#armIdlePrompt();
    });
    this.#t.on('callerJoined', () => this.#greet());
  }

  /** Ms since the caller or the agent last said anything: the worker's idle timeout reads it. */
  idleForMs(): number {
    return this.#t.now() - this.#lastActivityMs;
  }

  /** True when nothing is being said, heard or prepared. */
  isQuiet(): boolean {
    return this.state.state === 'listening' && !this.#utterance && !this.#turns.busy && this.#t.output.queuedMs() === 0 && this.#pending.size === 0;
  }

  /** Consumes the caller's audio until it ends (the track or file ended, or the signal fired). */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#t.inputSampleRate !== 16_000) throw new Error(`the VAD needs 16 kHz input, the transport gives ${this.#t.inputSampleRate} Hz`);
    this.state.to('listening', 'started');
    for await (const frame of this.#t.input) {
      if (signal.aborted) break;
      await this.#onFrame(frame);
    }
    if (this.#utterance) this.#endUtterance('input_ended');
    await Promise.allSettled([...this.#pending]);
  }

  /** Finish or cut what is in flight within `boundMs`, for shutdown. */
  async stop(boundMs: number): Promise<void> {
    this.#idleTimer?.cancel();
    const settled = Promise.allSettled([...this.#pending, this.#turns.idle()]);
    const bound = new Promise((r) => setTimeout(r, boundMs));
    await Promise.race([settled, bound]);
    this.#turns.interruptAll('shutdown');
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p)).catch(() => undefined);
    return p;
  }

  async #onFrame(frame: Int16Array): Promise<void> {
    const arrivedAt = epochMs();
    const events = await this.#vad.push(frame);
    if (this.#utterance && isLoud(frame)) this.#utterance.trace.lastLoudInAt = arrivedAt;
    // The end-of-turn wait starts when the VAD first hears silence; speech again means it was only a pause.
    if (this.#utterance && this.#vad.trailingSilenceMs > 0) this.#utterance.trace.mark('vadSilenceAt');
    else if (this.#utterance) this.#utterance.trace.unmark('vadSilenceAt');
    for (const ev of events) {
      if (ev.type === 'speech_start') this.#startUtterance(ev.pcm16k);
      else if (ev.type === 'speech_audio') {
        // The STT's endpointing may end a turn before the VAD does; if the caller goes on talking inside the VAD's
        // silence window, the VAD never announces a new start, so the words that follow begin the next utterance.
        if (!this.#utterance && this.#vad.trailingSilenceMs === 0) this.#startUtterance(ev.pcm16k, false);
        else this.#utteranceAudio(ev.pcm16k);
      } else this.#endUtterance('vad_silence');
    }
    const current = this.#utterance;
    // The utterance's audio runs on through the silence the VAD waits out before ending it: that is not speech, and
    // counting it would turn a short sound over the agent into a barge-in.
    const spokenMs = current ? current.speechMs - this.#vad.trailingSilenceMs : 0;
    if (current?.overAgent && !current.bargedIn && this.#turns.busy) {
      // Still thinking: the caller has more to say, so an answer to half a sentence must not start playing at all.
      // A greeting or an idle prompt gives way at once. Otherwise only speech long enough to be meant cuts the agent off.
      const thinking = this.state.state === 'thinking';
      if (thinking || this.#turns.yieldsAtOnce || spokenMs >= this.#o.bargeInMinMs) {
        current.bargedIn = true;
        current.cutThinking = thinking;
        this.#turns.interruptAll(thinking ? 'caller_resumed' : 'barge-in');
      }
    }
  }

  #utteranceAudio(pcm16k: Int16Array): void {
    const u = this.#utterance;
    if (!u) return;
    u.audio.push(pcm16k);
    u.speechMs += (pcm16k.length / 16_000) * 1000;
  }

  #startUtterance(pcm16k: Int16Array, withPreRoll = true): void {
    this.#lastActivityMs = this.#t.now();
    this.#idleTimer?.cancel();
    this.#idlePrompted = false;
    const audio = new AsyncQueue<Int16Array>();
    const id = ++this.#utteranceCount;
    const u: Utterance = {
      id,
      audio,
      startedAtMs: this.#t.now(),
      speechMs: 0,
      overAgent: this.#turns.busy,
      bargedIn: false,
      cutThinking: false,
      finals: [],
      transcript: Promise.resolve({ text: '', failovers: 0 }),
      trace: new TurnTrace(),
    };
    this.#utterance = u;
    this.#utteranceAudio(pcm16k);
    // The start carries the VAD's pre-roll, which is not speech: only what follows the onset counts toward barge-in.
    if (withPreRoll) u.speechMs = Math.max(0, u.speechMs - this.#o.vadPreRollMs);
    u.transcript = this.#track(this.#transcribe(u));
  }

  async #transcribe(u: Utterance): Promise<{ text: string; provider?: string; failovers: number; error?: unknown }> {
    let provider: string | undefined;
    let failovers = 0;
    let interim = '';
    const segmentId = `user-${u.id}`;
    try {
      for await (const ev of transcribeUtterance({ ...this.#o.stt, onOutcome: (o) => this.#o.report.record(o) }, u.audio, this.#t.inputSampleRate, new AbortController().signal)) {
        if (ev.type === 'restart') {
          failovers++;
          u.finals = [];
          continue;
        }
        provider = ev.provider;
        if (ev.type === 'interim') interim = ev.text;
        if (ev.type === 'final' && ev.text.trim()) u.finals.push(ev.text.trim());
        if (ev.type === 'interim' || ev.type === 'final') {
          const text = [...u.finals, ev.type === 'interim' ? interim : ''].join(' ').trim();
          if (text) void this.#t.publishTranscription({ speaker: 'user', text, final: false, segmentId }).catch(() => undefined);
        }
        // The provider's own endpointing ends the turn early once the VAD also hears silence.
        if (((ev.type === 'final' && ev.speechFinal) || ev.type === 'utterance_end') && this.#utterance === u && this.#vad.trailingSilenceMs >= this.#o.earlyEndSilenceMs) {
          this.#endUtterance('stt_endpoint');
        }
      }
      return { text: u.finals.join(' ').trim(), ...(provider ? { provider } : {}), failovers };
    } catch (error) {
      return { text: u.finals.join(' ').trim(), failovers, error };
    }
  }

  #endUtterance(signal: EndSignal): void {
    const u = this.#utterance;
    if (!u) return;
    u.trace.mark('turnEndAt');
    u.trace.endSignal = signal;
    this.#utterance = undefined;
    const now = this.#t.now();
    u.audioEndedAtMs = now;
    u.speechEndedAtMs = now - Math.min(this.#vad.trailingSilenceMs, now - u.startedAtMs);
    u.audio.end();
    this.#lastActivityMs = now;
    void this.#track(this.#finishTurn(u));
  }

  async #finishTurn(u: Utterance): Promise<void> {
    const t = await u.transcript;
    const finalAtMs = this.#t.now();
    u.trace.mark('sttFinalAt');
    if (t.error instanceof ChainExhaustedError) {
      this.#o.log.warn({ event: 'stt_chain_exhausted', failures: t.error.failures.length }, 'no speech-to-text provider answered');
      if (!t.text) {
        await this.#turns.apologize();
        return;
      }
    }
    // Talking over the agent briefly (a backchannel, a cough) is not a turn.
    if (u.overAgent && !u.bargedIn) return;
    if (!t.text) {
      // A sound that cut an answer before it played was no turn after all: the caller still deserves that answer.
      if (u.cutThinking) await this.#turns.answerAgain(u.speechEndedAtMs ?? finalAtMs);
      return;
    }
    void this.#t.publishTranscription({ speaker: 'user', text: t.text, final: true, segmentId: `user-${u.id}` }).catch(() => undefined);
    const timing: Partial<TurnTiming> = {
      endOfUtteranceDelayMs: Math.max(0, finalAtMs - (u.speechEndedAtMs ?? finalAtMs)),
      sttFinalLatencyMs: Math.max(0, finalAtMs - (u.audioEndedAtMs ?? finalAtMs)),
      ...(t.provider ? { providers: { stt: t.provider } } : {}),
    };
    await this.#turns.answer(t.text, u.speechEndedAtMs ?? finalAtMs, timing, t.failovers, u.trace);
    u.trace.emit(this.#o.log, { utterance: u.id, words: t.text.split(/\s+/).length });
    this.#lastActivityMs = this.#t.now();
  }

  #greet(): void {
    if (this.#greeted) return;
    this.#greeted = true;
    const greeting = this.#o.greeting;
    if (greeting) void this.#track(this.#turns.say(greeting, 'greeting'));
  }

  #armIdlePrompt(): void {
    this.#idleTimer?.cancel();
    if (!this.#o.idlePromptMs || this.#idlePrompted) return;
    this.#idleTimer = this.#t.setTimer(this.#o.idlePromptMs, () => {
      if (!this.isQuiet() || this.idleForMs() < this.#o.idlePromptMs) return;
      this.#idlePrompted = true;
      void this.#track(this.#turns.say(this.#o.idlePromptText, 'idle_prompt'));
    });
  }
}

function agentStateOf(state: ConversationState): 'initializing' | 'listening' | 'thinking' | 'speaking' {
  return state === 'idle' ? 'initializing' : state;
}
