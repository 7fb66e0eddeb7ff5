// The conversation engine on a virtual clock, fast: scripted caller audio, VAD, STT, LLM and TTS in; the transport's
// calls and the engine's state changes out, each stamped with virtual time. Nothing sleeps: the harness ticks the
// clock one 20 ms frame at a time and lets the event loop settle between ticks, and every scripted delay is a timer
// on that clock. The real engine runs (turn detector, reply scheduler, speak path) with the real fallback chains;
// only the providers at the edge are scripted.
import type { HistoryMessage, ProviderOutcome, TurnTiming } from '../../../functions/contract.ts';
import { Conversation } from '../../../worker/agent/conversation.ts';
import type { ConversationOptions, TurnDetail, VadEvent, VoiceActivity } from '../../../worker/agent/types.ts';
import { BreakerRegistry } from '../../../worker/fallback/breaker.ts';
import { TtsChain } from '../../../worker/fallback/tts-chain.ts';
import { FrameQueue } from '../../../worker/transport/frame-queue.ts';
import { PlayoutQueue } from '../../../worker/transport/playout-queue.ts';
import type { AgentState, Transcription, Transport, TransportEvents, TurnMetrics } from '../../../worker/transport/types.ts';
import { VirtualClock } from '../../../worker/transport/virtual-clock.ts';
import { scriptedLlm, scriptedStt, scriptedTts, type LlmScript, type SttScript, type Timer } from './clocked-providers.ts';

export type { LlmScript, SttScript };

export const FRAME_MS = 20;
const RATE = 16_000;
const FRAME = (RATE * FRAME_MS) / 1000;
const OUT_RATE = 16_000;

// ── The caller ──────────────────────────────────────────────────────────────────────────────────────────────────
/** The caller's audio, piece by piece: loud speech, near-silence, or loud noise (for a VAD that knows it from speech). */
export type CallerPiece = { speakMs: number } | { silenceMs: number } | { noiseMs: number };

const pieceMs = (p: CallerPiece) => ('speakMs' in p ? p.speakMs : 'noiseMs' in p ? p.noiseMs : p.silenceMs);

/**
 * Every sample is distinct along the stream (so a test can tell exactly which samples the STT got): speech swings
 * well above the loudness mark, silence stays far below it.
 */
export function callerStream(pieces: CallerPiece[]): Int16Array {
  const total = pieces.reduce((n, p) => n + (pieceMs(p) * RATE) / 1000, 0);
  const pcm = new Int16Array(total);
  let at = 0;
  for (const p of pieces) {
    const n = (pieceMs(p) * RATE) / 1000;
    const level = 'silenceMs' in p ? (i: number) => 1 + (i % 61) : (i: number) => 2000 + (i % 997);
    for (let i = 0; i < n; i++, at++) pcm[at] = (at % 2 ? 1 : -1) * level(at);
  }
  return pcm;
}

function withSilence(pcm: Int16Array, silenceMs: number): Int16Array {
  const out = new Int16Array(Math.ceil(pcm.length / FRAME) * FRAME + (silenceMs * RATE) / 1000);
  out.set(pcm);
  return out;
}

/** Where each spoken piece starts and ends, in stream ms. */
export function spokenSpans(pieces: CallerPiece[]): { startMs: number; endMs: number }[] {
  const spans: { startMs: number; endMs: number }[] = [];
  let at = 0;
  for (const p of pieces) {
    if ('speakMs' in p) spans.push({ startMs: at, endMs: at + p.speakMs });
    at += pieceMs(p);
  }
  return spans;
}

// ── The VAD ─────────────────────────────────────────────────────────────────────────────────────────────────────
/**
 * An energy VAD with Silero's habits: speech is confirmed `minSpeechMs` after a loud onset, silence is heard only
 * `decayMs` after the last loud frame (the model's probability decays), and `minSilenceMs` of it ends the speech.
 */
export class DecayingVad implements VoiceActivity {
  readonly #o: { minSpeechMs: number; minSilenceMs: number; decayMs: number };
  #atMs = 0;
  #onsetMs: number | undefined;
  #speaking = false;
  #lastLoudEndMs = -Infinity;
  #trailingSilenceMs = 0;

  constructor(o: Partial<{ minSpeechMs: number; minSilenceMs: number; decayMs: number }> = {}) {
    this.#o = { minSpeechMs: 100, minSilenceMs: 500, decayMs: 64, ...o };
  }

  get trailingSilenceMs(): number {
    return this.#trailingSilenceMs;
  }

  async push(frame: Int16Array): Promise<VadEvent[]> {
    const startMs = this.#atMs;
    this.#atMs += (frame.length / RATE) * 1000;
    let sum = 0;
    for (const v of frame) sum += v * v;
    const loud = Math.sqrt(sum / frame.length) > 300;
    if (loud) this.#lastLoudEndMs = this.#atMs;
    const hearsSpeech = this.#atMs - this.#lastLoudEndMs < this.#o.decayMs;
    this.#trailingSilenceMs = hearsSpeech ? 0 : this.#trailingSilenceMs + FRAME_MS;
    const events: VadEvent[] = [];
    if (!this.#speaking) {
      if (loud && this.#onsetMs === undefined) this.#onsetMs = startMs;
      if (!hearsSpeech) this.#onsetMs = undefined;
      if (this.#onsetMs !== undefined && this.#atMs - this.#onsetMs >= this.#o.minSpeechMs) {
        this.#speaking = true;
        events.push({ type: 'speech_start', atMs: this.#onsetMs });
        this.#onsetMs = undefined;
      }
    } else if (this.#trailingSilenceMs >= this.#o.minSilenceMs) {
      this.#speaking = false;
      events.push({ type: 'speech_end', atMs: this.#atMs - this.#trailingSilenceMs });
    }
    return events;
  }
}

// ── The transport ──────────────────────────────────────────────────────────────────────────────────────────────
export type Happening =
  | { atMs: number; kind: 'state'; state: AgentState }
  | { atMs: number; kind: 'caption'; t: Transcription }
  | { atMs: number; kind: 'clear'; droppedMs: number }
  | { atMs: number; kind: 'pause' }
  | { atMs: number; kind: 'resume' }
  | { atMs: number; kind: 'first_write' }
  | { atMs: number; kind: 'turn'; metrics: TurnMetrics };

export class ScriptedTransport implements Transport {
  readonly input = new FrameQueue<Int16Array>();
  readonly inputSampleRate = RATE;
  readonly happenings: Happening[] = [];
  readonly clock = new VirtualClock({ frameMs: FRAME_MS, speed: 1, onTick: () => this.#tick() });
  readonly #playout = new PlayoutQueue();
  readonly #joined: ((identity: string) => void)[] = [];
  #played = 0;
  #wasQuiet = true;
  #paused = false;
  readonly output = ((transport: ScriptedTransport) => ({
    sampleRate: OUT_RATE,
    write: (pcm: Int16Array) => {
      if (this.#wasQuiet) this.happenings.push({ atMs: this.now(), kind: 'first_write' });
      this.#wasQuiet = false;
      this.#playout.push(pcm);
    },
    clear: () => {
      const droppedMs = (this.#playout.clear() / OUT_RATE) * 1000;
      this.#wasQuiet = true;
      this.happenings.push({ atMs: this.now(), kind: 'clear', droppedMs });
      return droppedMs;
    },
    pause: () => {
      if (this.#paused) return;
      this.#paused = true;
      this.happenings.push({ atMs: this.now(), kind: 'pause' });
    },
    resume: () => {
      if (!this.#paused) return;
      this.#paused = false;
      this.happenings.push({ atMs: this.now(), kind: 'resume' });
    },
    get paused() {
      return transport.#paused;
    },
    playedMs: () => (this.#played / OUT_RATE) * 1000,
    queuedMs: () => (this.#playout.queuedSamples / OUT_RATE) * 1000,
  }))(this);
  /** Caller frames still to deliver, one per tick. */
  frames: Int16Array[] = [];

  now(): number {
    return this.clock.now();
  }
  setTimer(ms: number, fn: () => void) {
    return this.clock.setTimer(ms, fn);
  }
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    if (event === 'callerJoined') this.#joined.push(listener as (identity: string) => void);
  }
  join(): void {
    for (const l of this.#joined) l('caller');
  }
  async setAgentState(state: AgentState) {
    this.happenings.push({ atMs: this.now(), kind: 'state', state });
  }
  async publishTranscription(t: Transcription) {
    this.happenings.push({ atMs: this.now(), kind: 'caption', t });
  }
  async publishTurnMetrics(metrics: TurnMetrics) {
    this.happenings.push({ atMs: this.now(), kind: 'turn', metrics });
  }
  async start() {}
  async close() {}

  #tick(): void {
    const frame = new Int16Array((OUT_RATE * FRAME_MS) / 1000);
    if (!this.#paused) this.#played += this.#playout.pullInto(frame);
    if (this.#playout.queuedSamples === 0) this.#wasQuiet = true;
    const caller = this.frames.shift();
    if (caller) this.input.push(caller);
    else this.input.push(new Int16Array(FRAME));
  }
}

// ── The harness ────────────────────────────────────────────────────────────────────────────────────────────────
export interface EngineScript {
  caller: CallerPiece[];
  stt: SttScript[];
  llm: LlmScript[];
  tts?: { firstByteMs?: number; msPerChar?: number };
  vad?: VoiceActivity;
  preRollMs?: number;
  greeting?: string;
  options?: Partial<ConversationOptions>;
  /** The caller's audio as recorded (16 kHz), played instead of `caller`'s pieces (then silence). */
  callerAudio?: Int16Array;
  /** Awaited after every tick before the next: work outside the virtual clock (a model thread) takes no virtual time. */
  hold?: () => Promise<unknown>;
}

export interface EngineRun {
  happenings: Happening[];
  turns: (TurnTiming & Partial<TurnDetail>)[];
  history: HistoryMessage[];
  outcomes: ProviderOutcome[];
  stt: ReturnType<typeof scriptedStt>;
  llm: ReturnType<typeof scriptedLlm>;
  tts: ReturnType<typeof scriptedTts>;
  conversation: Conversation;
  transport: ScriptedTransport;
  callerPcm: Int16Array;
  /** Virtual ms at which the agent state first became `state` after `fromMs`. */
  stateAt(state: AgentState, fromMs?: number): number | undefined;
}

/** Lets every promise the last tick released run on (no timers involved: nothing waits on the wall clock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
}

export interface EngineParts {
  transport: ScriptedTransport;
  options: ConversationOptions;
  stt: ReturnType<typeof scriptedStt>;
  llm: ReturnType<typeof scriptedLlm>;
  tts: ReturnType<typeof scriptedTts>;
  turns: (TurnTiming & Partial<TurnDetail>)[];
  history: HistoryMessage[];
  outcomes: ProviderOutcome[];
  /** Moves virtual time on by `ms`, one frame at a time, letting the engine work between frames. */
  advance(ms: number): Promise<void>;
}

/** The engine's surroundings without the conversation: for tests of one stage (the reply scheduler). */
export function engineParts(s: Omit<EngineScript, 'caller'>): EngineParts {
  const transport = new ScriptedTransport();
  const setTimer: Timer = (ms, fn) => transport.setTimer(ms, fn);
  const stt = scriptedStt(setTimer, s.stt, () => transport.now());
  const llm = scriptedLlm(setTimer, () => transport.now(), s.llm);
  const tts = scriptedTts(setTimer, s.tts);
  const breakers = new BreakerRegistry();
  const turns: (TurnTiming & Partial<TurnDetail>)[] = [];
  const history: HistoryMessage[] = [];
  const outcomes: ProviderOutcome[] = [];
  const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  const options: ConversationOptions = {
    transport,
    stt: { links: [{ name: 'deepgram', provider: stt }], breakers },
    llm: { links: [{ name: 'openai', provider: llm }], breakers },
    tts: new TtsChain({ links: [{ name: 'elevenlabs', provider: tts }], breakers, onOutcome: (o) => outcomes.push(o) }),
    resampler: () => ({ process: (pcm) => pcm }),
    report: { record: (o) => outcomes.push(o), recordTurn: (t, d) => turns.push({ ...t, ...d }), appendHistory: (m) => history.push(...m) },
    log: silent,
    systemPrompt: 'You are a test.',
    llmMaxTokens: 300,
    greeting: s.greeting ?? '',
    historyMax: 100,
    bargeInMinMs: 400,
    vadPreRollMs: s.preRollMs ?? 200,
    earlyEndSilenceMs: 200,
    endOfTurnSilenceMs: 500,
    idlePromptMs: 0,
    idlePromptText: 'Still there?',
    apologyText: 'Sorry.',
    ...s.options,
  };
  const advance = async (ms: number) => {
    for (let i = 0; i < ms / FRAME_MS; i++) {
      transport.clock.tick();
      await settle();
    }
  };
  return { transport, options, stt, llm, tts, turns, history, outcomes, advance };
}

/** Plays the caller's audio, then `tailMs` of silence, and returns what happened. */
export async function runEngine(s: EngineScript, tailMs = 3_000): Promise<EngineRun> {
  const { transport, options, stt, llm, tts, turns, history, outcomes } = engineParts(s);
  const callerPcm = s.callerAudio ? withSilence(s.callerAudio, tailMs) : callerStream([...s.caller, { silenceMs: tailMs }]);
  for (let at = 0; at < callerPcm.length; at += FRAME) transport.frames.push(callerPcm.subarray(at, at + FRAME));
  const conversation = new Conversation(options, s.vad ?? new DecayingVad());
  const ticks = transport.frames.length;
  const running = conversation.run(new AbortController().signal);
  transport.join();
  await settle();
  for (let i = 0; i < ticks; i++) {
    transport.clock.tick();
    await settle();
    await s.hold?.();
  }
  transport.input.end();
  // The input is over; time goes on until the engine has finished what it was doing.
  let done = false;
  void running.finally(() => (done = true));
  for (let i = 0; !done; i++) {
    if (i > 10_000) throw new Error('the engine did not finish within 200 s of virtual time after the input ended');
    transport.clock.tick();
    await settle();
    await s.hold?.();
  }
  await running;
  return {
    happenings: transport.happenings,
    turns,
    history,
    outcomes,
    stt,
    llm,
    tts,
    conversation,
    transport,
    callerPcm,
    stateAt: (state, fromMs = 0) => transport.happenings.find((h) => h.kind === 'state' && h.state === state && h.atMs >= fromMs)?.atMs,
  };
}
