// Turn detection: the caller's frames in, the caller's turns out. Each frame goes to the open utterance's STT stream
// as the transport delivered it, and beside it to the VAD; the VAD opens an utterance (its audio begins with the
// pre-roll from the audio tap), the end of turn closes it. Events, with their times on the engine clock:
//   speech_started   the VAD confirmed speech (an utterance opened)
//   speech_stopped   the VAD first heard silence after it (`atMs`: the end of speech on the audio)
//   speech_resumed   the VAD hears speech again before the turn ended (that silence was a pause)
//   stt_end_of_speech  the STT's own endpointing says the caller stopped (the early signal a preemptive reply needs)
//   end_of_turn      the turn is decided: the utterance's audio ended (`signal` says why)
//   interrupt        the caller talks over the agent in earnest (or the agent was only thinking, or being polite)
//   late_words       words the STT finalised after the turn's transcript was taken (its flush)
// The end of speech is read on the audio (the last loud frame's end, as the bench reads the waveform) rather than from
// the VAD, whose probability decays for up to a few windows after the voice stops; the VAD's hysteresis still
// decides that it is silence at all, so noise does not end a turn and a quiet voice is not cut.
// How long the silence must last: with an end-of-turn detector (END_OF_TURN=model|rule), what it judges of the
// utterance's audio and words (silence-verdict.ts: short for a complete sentence, long for an unfinished one), and the
// STT's endpointing ends a turn early only when the sentence is not judged unfinished; without one (fixed), a fixed
// silence, or the endpointing after a shorter one.
import { msToSamples, samplesToMs } from '../audio/frames.ts';
import type { EndOfTurnDetector } from '../end-of-turn/detector.ts';
import { WINDOW_SAMPLES } from '../end-of-turn/log-mel.ts';
import type { SttChainOptions } from '../fallback/stt-chain.ts';
import type { Transcription } from '../transport/types.ts';
import { AsyncQueue } from './async-queue.ts';
import { AudioTap } from './audio-tap.ts';
import type { EngineClock } from './clock.ts';
import { SilenceVerdict } from './silence-verdict.ts';
import { TurnTrace, isLoud, type EndSignal } from './turn-trace.ts';
import type { AgentLogger, VoiceActivity } from './types.ts';
import { UtteranceTranscript } from './utterance-transcript.ts';

/** How far behind the voice the VAD may hear silence (Silero's decay, ~2 windows of 32 ms, plus one). */
export const VAD_DECAY_ALLOWANCE_MS = 96;
/** Audio held beyond the pre-roll: the VAD confirms a start `minSpeechMs` (and a window) after its onset. */
const TAP_MARGIN_MS = 1_000;

export interface Utterance {
  readonly id: number;
  /** Engine clock: when the utterance opened. */
  readonly startedAtMs: number;
  /** Began while the agent was thinking or speaking: a backchannel unless it grows into a barge-in. */
  readonly overAgent: boolean;
  /** It grew into a turn of its own: it cut the agent off, or went on long enough after the agent finished. */
  bargedIn: boolean;
  /** It cut an answer that had not started playing: if it turns out to be no turn (a cough), that answer is redone. */
  cutThinking: boolean;
  readonly transcript: UtteranceTranscript;
  /** Stage times for the `turn_trace` log line. */
  readonly trace: TurnTrace;
  /** Engine clock: the end of the last loud frame. */
  lastLoudEndAtMs?: number;
  /** Engine clock, once the turn ended: the end of speech on the audio, and when the audio to the STT ended. */
  speechEndedAtMs?: number;
  audioEndedAtMs?: number;
  /** Once the turn ended by an end-of-turn detector's judgement: how it judged the last silence. */
  endOfTurn?: { tier: 'complete' | 'unsure' | 'incomplete'; waitMs: number; source: 'model' | 'rule' | 'none' };
}

export type TurnEvent =
  | { type: 'speech_started'; utterance: Utterance; atMs: number }
  | { type: 'speech_stopped'; utterance: Utterance; atMs: number }
  | { type: 'speech_resumed'; utterance: Utterance; atMs: number }
  | { type: 'stt_end_of_speech'; utterance: Utterance; atMs: number }
  | { type: 'end_of_turn'; utterance: Utterance; atMs: number; speechEndedAtMs: number; signal: EndSignal }
  | { type: 'interrupt'; utterance: Utterance; atMs: number; reason: 'caller_resumed' | 'barge-in' }
  | { type: 'late_words'; utterance: Utterance; atMs: number; text: string };

/** What the turn detector needs to know of the agent to judge talk over it. */
export interface AgentView {
  /** Thinking or speaking (audio still playing included). */
  busy: boolean;
  thinking: boolean;
  /** Only a courtesy (greeting, idle prompt): it gives way as soon as the caller speaks. */
  yieldsAtOnce: boolean;
}

export interface TurnDetectorOptions {
  clock: EngineClock;
  vad: VoiceActivity;
  stt: SttChainOptions;
  sampleRate: number;
  preRollMs: number;
  /** Fixed end of turn (no `endOfTurn` detector): this much silence ends the turn. */
  endOfTurnSilenceMs: number;
  /** With the STT's endpointing, this much silence may already end the turn. */
  earlyEndSilenceMs: number;
  /** This much silence asks the STT for the words so far (once per silence); 0: never. */
  sttFlushSilenceMs: number;
  /** Judges each silence's wait (worker/end-of-turn/); absent: the fixed wait, and the VAD's own end too. */
  endOfTurn?: EndOfTurnDetector;
  bargeInMinMs: number;
  agent(): AgentView;
  publish(t: Transcription): void;
  onEvent(ev: TurnEvent): void;
  log: AgentLogger;
}

interface Open {
  u: Utterance;
  audio: AsyncQueue<Int16Array>;
  /** Stream position of the speech onset: what came after it is speech toward a barge-in. */
  onsetSample: number;
  /** Stream position where the utterance's audio (pre-roll included) begins. */
  fromSample: number;
  stopped: boolean;
  /** The words so far (finals and the latest interim), as published. */
  words: string;
  /** The current silence, judged by the end-of-turn detector. */
  verdict?: SilenceVerdict;
  /** Engine clock: where the current silence began (the end of speech on the audio). */
  silenceFromMs?: number;
  /** The STT's endpointing said the caller stopped, during the current silence. */
  endpointed: boolean;
  /** The words are in: the STT's endpoint came, and no newer interim since (the transcript lags the audio). */
  wordsIn: boolean;
  /** Inside the STT event that carried the endpoint (its words are published right after it). */
  endpointing: boolean;
  /** The STT was asked for the words so far during the current silence. */
  flushRequested: boolean;
}

export class TurnDetector {
  readonly #o: TurnDetectorOptions;
  readonly #tap: AudioTap;
  #open: Open | undefined;
  #count = 0;
  #vadSpeaking = false;
  /** Stream position where the last utterance's audio stopped. */
  #closedAtSample = 0;
  /** The STT streams with endpointing of its own (Deepgram): the words of a silence arrive with its endpoint. */
  readonly #sttEndpoints: boolean;

  constructor(options: TurnDetectorOptions) {
    this.#o = options;
    this.#sttEndpoints = options.stt.links[0]?.provider.streaming === true;
    // The end-of-turn model hears the last 8 s of the utterance: the tap holds that much when there is one.
    const holdSamples = msToSamples(options.preRollMs + TAP_MARGIN_MS, options.sampleRate);
    this.#tap = new AudioTap(options.endOfTurn ? Math.max(holdSamples, WINDOW_SAMPLES) : holdSamples);
  }

  /** The utterance open now, if any. */
  get utterance(): Utterance | undefined {
    return this.#open?.u;
  }

  async push(frame: Int16Array): Promise<void> {
    const arrivedAtMs = this.#o.clock.now();
    const arrivedAtEpochMs = this.#o.clock.epochMs();
    const frameStart = this.#tap.receivedSamples;
    const held = this.#tap.push(frame);
    // The STT hears the transport's frame as it comes, beside the VAD (not after it); the tap's copy, since the STT
    // stream may still hold it when the transport reuses its buffer.
    this.#open?.audio.push(held);
    const events = await this.#o.vad.push(frame);
    for (const ev of events) {
      if (ev.type === 'speech_start') {
        this.#vadSpeaking = true;
        if (!this.#open) this.#start(msToSamples(ev.atMs - this.#o.preRollMs, this.#o.sampleRate), msToSamples(ev.atMs, this.#o.sampleRate));
      } else {
        this.#vadSpeaking = false;
        // With a detector, the VAD's own end is not the turn's: an unfinished sentence waits longer than it does.
        if (!this.#o.endOfTurn) this.#end('vad_silence');
      }
    }
    // The STT's endpointing may end a turn before the VAD does; if the caller goes on talking inside the VAD's
    // silence window, the VAD announces no new start, so the words that follow begin the next utterance (with the
    // audio since the last one closed: no sample is lost in between).
    if (!this.#open && this.#vadSpeaking && this.#o.vad.trailingSilenceMs === 0) this.#start(this.#closedAtSample, frameStart);
    const open = this.#open;
    if (!open) return;
    const u = open.u;
    if (isLoud(frame)) {
      u.lastLoudEndAtMs = arrivedAtMs;
      u.trace.lastLoudInAt = arrivedAtEpochMs;
    }
    // The end-of-turn wait starts when the VAD first hears silence; speech again means it was only a pause.
    if (this.#o.vad.trailingSilenceMs > 0 && !open.stopped) {
      open.stopped = true;
      u.trace.mark('vadSilenceAt');
      open.silenceFromMs = this.#speechEndAtMs(u, arrivedAtMs);
      if (this.#o.endOfTurn) open.verdict = new SilenceVerdict(this.#o.endOfTurn, this.#tap.since(open.fromSample), open.words, () => this.#check(u));
      this.#o.onEvent({ type: 'speech_stopped', utterance: u, atMs: open.silenceFromMs });
    } else if (this.#o.vad.trailingSilenceMs === 0 && open.stopped) {
      open.stopped = false;
      this.#resumed(open);
      this.#o.onEvent({ type: 'speech_resumed', utterance: u, atMs: arrivedAtMs });
    }
    this.#flushIfQuietEnough(open, arrivedAtMs);
    const over = this.#turnOver(open, arrivedAtMs);
    if (over) {
      this.#end(over);
      return;
    }
    this.#judgeTalkOver(open, arrivedAtMs);
  }

  /**
   * Ends `u` now if it is still open and the audio is quiet: its STT flushes at once. For talk over a paused agent,
   * whose words (or their absence) decide whether the agent plays on.
   */
  endIfQuiet(u: Utterance): boolean {
    if (this.#open?.u !== u || this.#o.vad.trailingSilenceMs === 0) return false;
    this.#end('no_words');
    return true;
  }

  /** Ms of silence after `u`'s speech so far, on the audio (0 while the caller speaks or once it is closed). */
  silenceAfter(u: Utterance): number {
    return this.#open?.u === u ? this.#silenceMs(u, this.#o.clock.now()) : 0;
  }

  /** The caller's audio ended (track or file): an open utterance is a finished turn. */
  inputEnded(): void {
    this.#end('input_ended');
  }

  /** What ends the turn now, if anything. */
  #turnOver(open: Open, nowMs: number): EndSignal | undefined {
    const verdict = open.verdict;
    if (!verdict) return this.#silenceMs(open.u, nowMs) >= this.#o.endOfTurnSilenceMs ? 'vad_silence' : undefined;
    if (!open.stopped || open.silenceFromMs === undefined) return undefined;
    const silenceMs = nowMs - open.silenceFromMs;
    // A sentence judged complete before the STT has caught up may still hang on words it has not delivered yet ("a
    // table" of "a table for"): a streaming STT's endpoint brings them (and its final) a moment later, so the turn
    // waits for it, never longer than the unsure wait.
    const { unsureWaitMs } = this.#o.endOfTurn!.policy.options;
    const wordsPending = verdict.decision.tier === 'complete' && !open.wordsIn && this.#sttEndpoints && silenceMs < unsureWaitMs;
    // Talk over the agent is no turn to answer until it interrupts, so nothing waits on its end: it lasts through a
    // pause of the middle wait, and "wait… stop" adds up to a barge-in rather than two sounds too short for one.
    const talkOver = open.u.overAgent && !open.u.bargedIn;
    if (talkOver) return silenceMs >= Math.max(verdict.waitMs, unsureWaitMs) ? 'vad_silence' : undefined;
    if (silenceMs >= verdict.waitMs && !wordsPending) return 'vad_silence';
    if (open.endpointed && verdict.endpointMayEnd && silenceMs >= this.#o.earlyEndSilenceMs) return 'stt_endpoint';
    return undefined;
  }

  /** The verdict changed between frames (the model answered, newer words, the STT's endpoint): the turn may be over. */
  #check(u: Utterance): void {
    const open = this.#open;
    if (open?.u !== u) return;
    const over = this.#turnOver(open, this.#o.clock.now());
    if (over) this.#end(over);
  }

  /** Speech again inside the wait: it was a pause, and the same turn goes on (the next silence is judged anew). */
  #resumed(open: Open): void {
    open.u.trace.unmark('vadSilenceAt');
    open.u.trace.sttFlushAt = open.u.trace.sttFlushedAt = undefined;
    open.verdict?.drop();
    open.verdict = undefined;
    open.silenceFromMs = undefined;
    open.endpointed = false;
    open.flushRequested = false;
  }

  /**
   * A silence long enough to be more than the gap between two words: the STT is asked for the words so far, so that
   * they are final by the time the end-of-turn wait runs out, rather than only at the STT's own endpointing.
   */
  #flushIfQuietEnough(open: Open, nowMs: number): void {
    const afterMs = this.#o.sttFlushSilenceMs;
    if (afterMs <= 0 || !open.stopped || open.flushRequested || this.#silenceMs(open.u, nowMs) < afterMs) return;
    open.flushRequested = true;
    open.u.trace.sttFlushAt = this.#o.clock.epochMs();
    open.u.transcript.flush();
  }

  #judgeTalkOver(open: Open, nowMs: number): void {
    const u = open.u;
    const agent = this.#o.agent();
    if (!u.overAgent || u.bargedIn) return;
    // The utterance's audio runs on through the silence the VAD waits out before ending it: that is not speech, and
    // counting it would turn a short sound over the agent into a barge-in.
    const spokenMs = samplesToMs(this.#tap.receivedSamples - open.onsetSample, this.#o.sampleRate) - this.#o.vad.trailingSilenceMs;
    if (!agent.busy) {
      // The agent finished while the caller went on: a question begun over its last words is the caller's turn (there
      // is nothing left to cut), by the same measure as a barge-in; a short sound across the end is still none.
      if (spokenMs >= this.#o.bargeInMinMs) u.bargedIn = true;
      return;
    }
    // Still thinking: the caller has more to say, so an answer to half a sentence must not start playing at all.
    // A greeting or an idle prompt gives way at once. Otherwise only speech long enough to be meant cuts the agent off.
    if (agent.thinking || agent.yieldsAtOnce || spokenMs >= this.#o.bargeInMinMs) {
      u.bargedIn = true;
      u.cutThinking = agent.thinking;
      this.#o.onEvent({ type: 'interrupt', utterance: u, atMs: nowMs, reason: agent.thinking ? 'caller_resumed' : 'barge-in' });
    }
  }

  /**
   * Where the speech ended on the audio: the last loud frame's end, kept within the VAD's decay before the point where
   * the VAD heard silence begin. Earlier than that, the voice went on below the loudness mark (a quiet talker); later,
   * the loudness is noise the VAD does not take for speech. Either way the VAD's point stands.
   */
  #speechEndAtMs(u: Utterance, nowMs: number): number {
    const vadSilenceFromMs = nowMs - Math.min(this.#o.vad.trailingSilenceMs, nowMs - u.startedAtMs);
    if (u.lastLoudEndAtMs === undefined) return vadSilenceFromMs;
    return Math.min(vadSilenceFromMs, Math.max(u.lastLoudEndAtMs, vadSilenceFromMs - VAD_DECAY_ALLOWANCE_MS));
  }

  /** Silence since the end of speech; 0 while the VAD hears speech (its hysteresis decides what silence is). */
  #silenceMs(u: Utterance, nowMs: number): number {
    if (this.#o.vad.trailingSilenceMs === 0) return 0;
    return nowMs - this.#speechEndAtMs(u, nowMs);
  }

  #start(fromSample: number, onsetSample: number): void {
    const id = ++this.#count;
    const audio = new AsyncQueue<Int16Array>();
    const agent = this.#o.agent();
    let u: Utterance;
    const transcript = new UtteranceTranscript({
      stt: this.#o.stt,
      audio,
      sampleRate: this.#o.sampleRate,
      segmentId: `user-${id}`,
      publish: (t) => {
        const open = this.#open;
        if (open?.u === u) {
          open.words = t.text;
          // Words after the endpoint's own are new speech the STT has not finished with.
          if (!open.endpointing) open.wordsIn = false;
          open.verdict?.words(t.text);
        }
        this.#o.publish(t);
      },
      onEndOfSpeech: () => this.#sttEndOfSpeech(u),
      onFlushed: () => this.#sttFlushed(u),
      onLate: (text) => this.#o.onEvent({ type: 'late_words', utterance: u, atMs: this.#o.clock.now(), text }),
      log: this.#o.log,
    });
    u = { id, startedAtMs: this.#o.clock.now(), overAgent: agent.busy, bargedIn: false, cutThinking: false, transcript, trace: new TurnTrace() };
    this.#open = { u, audio, onsetSample: Math.max(onsetSample, 0), fromSample: Math.max(0, fromSample), stopped: false, words: '', endpointed: false, wordsIn: false, endpointing: false, flushRequested: false };
    audio.push(this.#tap.since(Math.max(0, fromSample)));
    this.#o.onEvent({ type: 'speech_started', utterance: u, atMs: u.startedAtMs });
  }

  #sttEndOfSpeech(u: Utterance): void {
    if (this.#open?.u !== u) return;
    const nowMs = this.#o.clock.now();
    this.#o.onEvent({ type: 'stt_end_of_speech', utterance: u, atMs: nowMs });
    const open = this.#open;
    this.#wordsArrive(open);
    if (open.verdict) {
      // Heard during this silence only (a late endpoint of words before a pause the caller already broke counts for
      // nothing); judged once the words it came with are in (the transcript publishes them right after).
      if (!open.stopped) return;
      open.endpointed = true;
      queueMicrotask(() => this.#check(u));
      return;
    }
    // The provider's own endpointing ends the turn early once the audio is also quiet.
    if (this.#silenceMs(u, nowMs) >= this.#o.earlyEndSilenceMs) this.#end('stt_endpoint');
  }

  /** The STT answered this silence's flush: the words are in (they are published right after), the turn may be over. */
  #sttFlushed(u: Utterance): void {
    const open = this.#open;
    if (open?.u !== u || !open.stopped || !open.flushRequested) return;
    u.trace.sttFlushedAt = this.#o.clock.epochMs();
    this.#wordsArrive(open);
    queueMicrotask(() => this.#check(u));
  }

  /**
   * The STT says every word of the silence so far is in (its endpoint, its answer to the flush); they are published
   * right after, inside the same event, and do not count as newer speech.
   */
  #wordsArrive(open: Open): void {
    open.wordsIn = true;
    open.endpointing = true;
    queueMicrotask(() => (open.endpointing = false));
  }

  #end(signal: EndSignal): void {
    const open = this.#open;
    if (!open) return;
    const u = open.u;
    this.#open = undefined;
    this.#closedAtSample = this.#tap.receivedSamples;
    if (open.verdict) this.#logVerdict(u, open.verdict, signal);
    u.trace.mark('turnEndAt');
    u.trace.endSignal = signal;
    const nowMs = this.#o.clock.now();
    u.audioEndedAtMs = nowMs;
    u.speechEndedAtMs = this.#speechEndAtMs(u, nowMs);
    open.audio.end();
    u.transcript.audioEnded();
    this.#o.onEvent({ type: 'end_of_turn', utterance: u, atMs: nowMs, speechEndedAtMs: u.speechEndedAtMs, signal });
  }

  #logVerdict(u: Utterance, verdict: SilenceVerdict, signal: EndSignal): void {
    verdict.drop();
    const d = verdict.decision;
    u.endOfTurn = { tier: d.tier, waitMs: d.waitMs, source: d.source };
    u.trace.endOfTurnWaitMs = verdict.waitMs;
    // The rule's reason and the model's figures, never the words.
    this.#o.log.info(
      { event: 'end_of_turn_decided', utterance: u.id, signal, tier: d.tier, source: d.source, waitMs: verdict.waitMs, probability: d.probability, inferenceMs: d.inferenceMs, modelSkipped: d.modelSkipped, rule: d.rule.reason },
      'end of turn decided',
    );
  }
}
