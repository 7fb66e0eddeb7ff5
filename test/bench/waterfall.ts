// Figures, not a test: where every millisecond of a turn goes, over a real LiveKit room. The fake vendors get FIXED
// delays (no jitter), a caller (rtc-node) speaks espeak questions, the worker logs a `turn_trace` line per turn
// (worker/agent/turn-trace.ts, epoch ms) and the caller times what it receives. Both clocks are
// performance.timeOrigin + performance.now() on this one machine, so the worker's stages line up with the end of the
// caller's speech as it sent it and with the first loud audio it got back.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { readWavFile } from '../../worker/audio/wav-read.ts';
import { TRACE_STAGES, type TraceStage } from '../../worker/agent/turn-trace.ts';
import { convertWav, speechWav } from '../e2e/console-support.ts';
import { Caller, MIC_RATE } from '../support/caller.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { FORMATTED_TRANSCRIPTS, QUESTIONS } from './console-scenarios.ts';

/**
 * The vendors' delays, fixed. Where they come from: none is measured here; they are the orders of magnitude commonly
 * cited for these vendors' streaming APIs, and are assumptions (typical published figures), not measurements.
 */
export const VENDOR_DELAYS = {
  sttFinalMs: { ms: 250, source: 'Deepgram streaming (Nova): "under 300 ms" transcription latency as Deepgram advertises it; 250 ms assumed, typical published figure' },
  llmTtftMs: { ms: 420, source: 'OpenAI GPT-4o-mini-class time to first token ~0.4 s as public leaderboards commonly report it; assumed, typical published figure' },
  llmTokensPerSecond: { value: 80, source: 'the same class of model\'s output rate as commonly reported (~80 tokens/s); assumed, typical published figure' },
  ttsTtfbMs: { ms: 260, source: 'ElevenLabs streaming (Flash/Turbo) time to first byte over the network ~250-300 ms as commonly measured; assumed, typical published figure' },
} as const;
/** The worker's own settings that the waterfall treats as configured (worker/config.ts defaults). */
export const END_OF_TURN_SILENCE_MS = 500;
/** The worker's Deepgram endpointing (worker/providers/stt/deepgram.ts): the silence Deepgram waits for speech_final. */
export const STT_ENDPOINTING_MS = 300;

export const WATERFALL_TURNS = 10;
/** Silence after each question: the longest answer (~2 s of audio) is over well before the next question. */
const GAP_MS = 5_000;
const LEAD_MS = 1_000;
export const REPLIES = ['It is ten past nine.', 'Cats nap all day.', 'About four hundred thousand kilometres.', 'The capital is Paris.', 'Yes, I can help.', 'It is two streets away.'];

export interface WaterfallTurn {
  question: number;
  /** Epoch ms: the end of the question's sound as the caller sent it (the zero of every figure below). */
  speechEndAtMs: number;
  /** Each stage in ms from speechEndAtMs (absent when the worker did not log it). */
  fromEndMs: Partial<Record<TraceStage | 'callerHeardAt' | 'lastLoudInAt', number>>;
  endSignal?: string;
  firstTextWords?: number;
  /** The silence the worker's end-of-turn detector judged the turn needed (its turn_trace). */
  endOfTurnWaitMs?: number;
  /** The words came from Deepgram's answer to the worker's flush in the pause (not its endpoint). */
  flushed?: boolean;
  /** The answer was the one asked for before the turn ended (preemptive generation), committed when it did. */
  preempted?: boolean;
}

/** The i-th espeak question as 48 kHz mono PCM (also for test/bench/density.ts). */
export async function question(dir: string, i: number): Promise<Int16Array> {
  const text = QUESTIONS[i % QUESTIONS.length]!;
  const wav = await convertWav(await speechWav(dir, `fall-q${i}`, [{ say: text }]), join(dir, `fall-q${i}-48k.wav`), MIC_RATE, 1);
  return (await readWavFile(wav)).pcm;
}

/** The fixed delays on the fakes (no jitter). */
export function setFixedDelays(fakes: LiveStack['fakes']): void {
  const { deepgram, openai, elevenlabs } = fakes;
  deepgram.setProfile({ ttfbMs: VENDOR_DELAYS.sttFinalMs.ms, ttfbJitterMs: 0 });
  openai.setProfile({ ttfbMs: VENDOR_DELAYS.llmTtftMs.ms, ttfbJitterMs: 0, tokensPerSecond: VENDOR_DELAYS.llmTokensPerSecond.value });
  // Audio twice as fast as real time once it flows (assumed): only the first byte matters to the waterfall.
  elevenlabs.setProfile({ ttfbMs: VENDOR_DELAYS.ttsTtfbMs.ms, ttfbJitterMs: 0, audioRealtimeFactor: 2, chunkMs: 20 });
}

/** One scripted transcript per question (as Deepgram formats it), and its reply from every LLM that may answer it. */
export function scriptTurns(fakes: LiveStack['fakes'], turns: number, llms: readonly ('openai' | 'anthropic' | 'groq')[] = ['openai']): void {
  for (let i = 0; i < turns; i++) {
    const transcript = FORMATTED_TRANSCRIPTS[i % FORMATTED_TRANSCRIPTS.length]!;
    fakes.deepgram.script.pushTranscripts(transcript);
    // By prompt, not queued: a preemptive request on a lagging hypothesis, dropped, takes no question's reply.
    for (const llm of llms) fakes[llm].script.answer(transcript, REPLIES[i % REPLIES.length]!);
  }
}

/** The fixed delays, and one scripted transcript and reply per question. */
function arrangeFixed(stack: LiveStack, turns: number): void {
  setFixedDelays(stack.fakes);
  scriptTurns(stack.fakes, turns);
}

type Trace = Partial<Record<TraceStage, number>> & { endSignal?: string; firstTextWords?: number; lastLoudInAt?: number; sttFlushedAt?: number; endOfTurnWaitMs?: number; preempted?: boolean };

/** Every turn_trace line of one worker task, from the launcher's log (`[taskId] {json}`). */
export function traces(logs: string, taskId: string): Trace[] {
  const prefix = `[${taskId}] `;
  const found: Trace[] = [];
  for (const line of logs.split('\n')) {
    if (!line.startsWith(prefix) || !line.includes('"turn_trace"')) continue;
    try {
      found.push(JSON.parse(line.slice(prefix.length)) as Trace);
    } catch {
      // A line cut by another writer: not a trace.
    }
  }
  return found;
}

const epoch = (performanceMs: number) => performance.timeOrigin + performanceMs;

/**
 * One room, WATERFALL_TURNS questions; the stack is the caller's (closed by it). `arrange` sets the fakes' delays and
 * scripts before the caller joins (default: the waterfall's fixed delays; test/bench/limit.ts brings its own).
 */
export async function runWaterfallRoom(
  stack: LiveStack,
  dir: string,
  progress: (line: string) => void,
  turns = WATERFALL_TURNS,
  arrange: (stack: LiveStack, turns: number) => void = arrangeFixed,
): Promise<WaterfallTurn[]> {
  const questions = await Promise.all(Array.from({ length: turns }, (_, i) => question(dir, i)));
  arrange(stack, turns);
  const caller = new Caller('bench-fall-caller');
  const room = `bench-fall-${randomUUID()}`;
  const sent: { startAtMs: number; speechEndAtMs: number; heardAtMs?: number }[] = [];
  try {
    const { token, url } = await stack.token(room, caller.identity);
    await caller.join(url, token);
    await caller.agent(60_000);
    await waitFor('the agent listening to the caller', () => caller.heardByAgent && caller.agentState() === 'listening', 30_000);
    await sleep(LEAD_MS);
    for (const [i, q] of questions.entries()) {
      progress(`waterfall: question ${i + 1}/${turns}`);
      const startAtMs = performance.now();
      const soundEndAt = await caller.say(q);
      const sentAt = performance.now();
      const heardAt = await waitFor('the answer', () => caller.firstLoudAfter(soundEndAt), 15_000).catch(() => undefined);
      sent.push({ startAtMs: epoch(startAtMs), speechEndAtMs: epoch(soundEndAt), ...(heardAt === undefined ? {} : { heardAtMs: epoch(heardAt) }) });
      const nextAt = sentAt + GAP_MS;
      if (nextAt > performance.now()) await sleep(nextAt - performance.now());
    }
    const [task] = await stack.tasks(room);
    if (!task) throw new Error(`no worker task for ${room}`);
    // The last answer's trace is logged once its audio has drained.
    const all = await waitFor('the worker\'s turn traces', () => {
      const t = traces(stack.logs(), task.taskId);
      return t.length >= sent.length && t;
    }, 10_000).catch(() => traces(stack.logs(), task.taskId));
    return sent.map((s, i) => pair(i, s, all));
  } finally {
    await caller.leave();
  }
}

/** The question's trace: the last turn that ended between its first sample and 3 s after its sound (a split question is answered last). */
function pair(i: number, s: { startAtMs: number; speechEndAtMs: number; heardAtMs?: number }, all: Trace[]): WaterfallTurn {
  const trace = all.filter((t) => t.turnEndAt !== undefined && t.turnEndAt > s.startAtMs && t.turnEndAt < s.speechEndAtMs + 3_000).at(-1);
  const fromEndMs: WaterfallTurn['fromEndMs'] = {};
  for (const stage of TRACE_STAGES) if (trace?.[stage] !== undefined) fromEndMs[stage] = trace[stage] - s.speechEndAtMs;
  if (s.heardAtMs !== undefined) fromEndMs.callerHeardAt = s.heardAtMs - s.speechEndAtMs;
  if (trace?.lastLoudInAt !== undefined) fromEndMs.lastLoudInAt = trace.lastLoudInAt - s.speechEndAtMs;
  return {
    question: i,
    speechEndAtMs: s.speechEndAtMs,
    fromEndMs,
    ...(trace?.endSignal ? { endSignal: trace.endSignal } : {}),
    ...(trace?.firstTextWords !== undefined ? { firstTextWords: trace.firstTextWords } : {}),
    ...(trace?.endOfTurnWaitMs !== undefined ? { endOfTurnWaitMs: trace.endOfTurnWaitMs } : {}),
    ...(trace?.sttFlushedAt !== undefined ? { flushed: true } : {}),
    ...(trace?.preempted !== undefined ? { preempted: trace.preempted } : {}),
  };
}

/** A fresh live stack for the part (closed at the end). */
export async function runWaterfall(dir: string, progress: (line: string) => void): Promise<WaterfallTurn[]> {
  progress('waterfall: starting the live stack (livekit-server, functions, launcher, fakes)');
  const stack = await startLiveStack({
    bindings: { STT_PROVIDERS: 'deepgram', LLM_PROVIDERS: 'openai', TTS_PROVIDERS: 'elevenlabs' },
    // Its stages are read in sequence: a speculative answer would start the LLM before the turn ends.
    workerEnv: { PREEMPTIVE_GENERATION: 'off' },
    quietFunctions: true,
  });
  try {
    return await runWaterfallRoom(stack, dir, progress);
  } finally {
    await stack.close();
  }
}
