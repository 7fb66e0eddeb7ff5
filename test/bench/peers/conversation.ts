// One contender's conversation, measured by the caller alone (test/support/caller.ts, the same code for everyone):
// a warm-up question, then N spoken questions; for each, the response delay is the first loud 20 ms frame the caller
// receives after its last speech sample went out, minus that moment. The next question waits until the agent has
// been quiet a while, so no answer is talked over.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { readWavFile } from '../../../worker/audio/wav-read.ts';
import { convertWav, speechWav } from '../../e2e/console-support.ts';
import { Caller, callerToken, MIC_RATE } from '../../support/caller.ts';
import { sleep, waitFor } from '../../support/wait.ts';
import type { Context, ContenderSpec } from './contenders.ts';
import { turnNotes, type TurnNotes } from './turn-notes.ts';
import { REPO_ROOT } from './install.ts';

export const WARM_UP = 'Hello there';
export const QUESTIONS = [
  'What time is it',
  'Tell me a joke',
  'How far away is the moon',
  'What is the capital of France',
  'Can you help me',
  'Where is the train station',
  'What should I cook tonight',
  'Is it going to rain tomorrow',
];
const ANSWER_TIMEOUT_MS = 12_000;
/** Loud audio needed to call it an answer (not a click). */
const ANSWER_LOUD_MS = 300;
/** Quiet this long after loud audio: the answer is over. */
const QUIET_MS = 1_200;
const ANSWER_END_TIMEOUT_MS = 25_000;

export interface QuestionResult {
  question: string;
  /** undefined: no answer within ANSWER_TIMEOUT_MS. */
  responseDelayMs?: number;
  /** Loud agent audio while the question was still being spoken (an early or spurious answer). */
  talkedOverMs: number;
  /** Wall clock (Date.now(), the fakes' clock) when the question began and when its answer was over. */
  window: { fromEpochMs: number; toEpochMs: number };
  /** What the caller received after the question ended: loud audio, and its runs of sound (one per spoken word). */
  heard: { loudMs: number; bursts: number };
}

/** Fault injection around the questions (not the warm-up): once before them, and in the middle of each one. */
export interface QuestionHooks {
  beforeQuestions?(): void;
  beforeQuestion?(index: number): void;
  midQuestion?(index: number): void;
}

export interface ConversationOptions {
  questions?: readonly string[];
  hooks?: QuestionHooks;
}

export interface ConversationResult {
  id: string;
  label: string;
  warmUp: QuestionResult;
  questions: QuestionResult[];
  /** Time from starting the contender to its audio track reaching the caller. */
  startMs: number;
  /** From the contender's own log: how its end-of-turn model decided. */
  turns?: TurnNotes;
  error?: string;
}

/** Where a contender's own output is kept after its run, for diagnosis. */
export const logPath = (id: string) => join(REPO_ROOT, '.tmp', `bench-peers-${id}.log`);

export async function makeQuestionAudio(dir: string): Promise<Map<string, Int16Array>> {
  const audio = new Map<string, Int16Array>();
  for (const [i, text] of [WARM_UP, ...QUESTIONS].entries()) {
    const wav = await convertWav(await speechWav(dir, `q${i}`, [{ say: text }]), join(dir, `q${i}-48k.wav`), MIC_RATE, 1);
    audio.set(text, (await readWavFile(wav)).pcm);
  }
  return audio;
}

/** A quiet stretch this long between loud frames separates two words (the TTS fake leaves 55 ms at every space). */
const WORD_GAP_MS = 30;

/** Runs of loud frames after `fromMs`, split by quiet stretches of WORD_GAP_MS or more. */
export function loudBursts(frames: readonly { atMs: number; durationMs: number; loud: boolean }[], fromMs: number): number {
  let bursts = 0;
  let quietMs = Infinity;
  for (const f of frames) {
    if (f.atMs < fromMs) continue;
    if (!f.loud) {
      quietMs += f.durationMs;
      continue;
    }
    if (quietMs >= WORD_GAP_MS) bursts += 1;
    quietMs = 0;
  }
  return bursts;
}

export function emptyQuestion(question: string): QuestionResult {
  return { question, talkedOverMs: 0, window: { fromEpochMs: 0, toEpochMs: 0 }, heard: { loudMs: 0, bursts: 0 } };
}

async function ask(caller: Caller, question: string, pcm: Int16Array, midQuestion?: () => void): Promise<QuestionResult> {
  const fromEpochMs = Date.now();
  const startedAt = performance.now();
  const timer = midQuestion ? setTimeout(midQuestion, pcm.length / MIC_RATE * 1000 / 2) : undefined;
  const endedAt = await caller.say(pcm);
  clearTimeout(timer);
  const talkedOverMs = caller.loudMsSince(startedAt) - caller.loudMsSince(endedAt);
  const result = (responseDelayMs?: number): QuestionResult => ({
    question,
    ...(responseDelayMs === undefined ? {} : { responseDelayMs }),
    talkedOverMs,
    window: { fromEpochMs, toEpochMs: Date.now() },
    heard: { loudMs: caller.loudMsSince(endedAt), bursts: loudBursts(caller.agentFrames, endedAt) },
  });
  try {
    await waitFor('an answer', () => caller.loudMsSince(endedAt) >= ANSWER_LOUD_MS, ANSWER_TIMEOUT_MS);
  } catch {
    return result();
  }
  const first = caller.firstLoudAfter(endedAt)!;
  await waitFor('the answer to end', () => performance.now() - (caller.lastLoudAt() ?? 0) > QUIET_MS, ANSWER_END_TIMEOUT_MS).catch(() => undefined);
  return result(first - endedAt);
}

export async function runConversation(
  ctx: Context,
  spec: ContenderSpec,
  audio: Map<string, Int16Array>,
  options: ConversationOptions = {},
): Promise<ConversationResult> {
  const questions = options.questions ?? QUESTIONS;
  const hooks = options.hooks ?? {};
  const room = `peers-${spec.id}-${randomUUID().slice(0, 8)}`;
  const startedAt = performance.now();
  const contender = await spec.start(room);
  const caller = new Caller(`caller-${spec.id}`);
  // LiveKit Agents streams its session events on this topic for its playground; read and drop them (rtc-node would
  // otherwise log every unhandled stream).
  caller.room.registerByteStreamHandler('lk.agent.session', (reader) => void reader.readAll().catch(() => undefined));
  const result: ConversationResult = { id: spec.id, label: spec.label, warmUp: emptyQuestion(WARM_UP), questions: [], startMs: 0 };
  try {
    await caller.join(ctx.livekit.url, await callerToken(ctx.livekit.apiKey, ctx.livekit.apiSecret, room, `caller-${spec.id}`));
    await waitFor('the agent\'s audio track and its subscription to the caller', () => caller.agentTrackSid !== undefined && caller.heardByAgent, 90_000);
    result.startMs = performance.now() - startedAt;
    await sleep(1_500); // lets a contender finish setting up its pipeline after publishing
    result.warmUp = await ask(caller, WARM_UP, audio.get(WARM_UP)!);
    hooks.beforeQuestions?.();
    for (const [i, question] of questions.entries()) {
      await sleep(600);
      hooks.beforeQuestion?.(i);
      const mid = hooks.midQuestion;
      const r = await ask(caller, question, audio.get(question)!, mid ? () => mid(i) : undefined);
      ctx.progress(`  ${spec.id} ${i + 1}/${questions.length}: ${r.responseDelayMs === undefined ? 'no answer' : `${Math.round(r.responseDelayMs)} ms`}`);
      result.questions.push(r);
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
  } finally {
    await caller.leave();
    await contender.stop();
  }
  await writeFile(logPath(spec.id), contender.process.log()).catch(() => undefined);
  const notes = turnNotes(spec.id, contender.process.log());
  if (notes) result.turns = notes;
  if (result.error || result.questions.some((q) => q.responseDelayMs === undefined)) {
    ctx.progress(`  ${spec.id}: log tail follows\n${contender.process.log().slice(-4_000)}`);
  }
  return result;
}
