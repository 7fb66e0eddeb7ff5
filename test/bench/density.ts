// Figures, not a test: how many rooms this machine holds. N rooms at once on one live stack (1, 5, 10, 20), a caller
// in each asking espeak questions, the fakes on the waterfall's fixed delays; per level the workers' CPU seconds per
// conversation-second and RSS (from /proc), the callers' response delays, p95. Then where one worker's memory goes.
// Bounded: a level that would not fit the budget is skipped, and a level that breaks (agents missing, answers lost)
// ends the climb. The callers run in this process and share the two cores with the workers: their CPU is shown too.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Caller } from '../support/caller.ts';
import { startLiveStack, type LiveStack } from '../support/live-stack.ts';
import { sleep, waitFor } from '../support/wait.ts';
import { largestWithin } from './density-report.ts';
import { cpuSeconds, memory, type Memory } from './proc-stats.ts';
import { percentile } from './stats.ts';
import { question, setFixedDelays, traces } from './waterfall.ts';

const run = promisify(execFile);
export const LEVELS = [1, 5, 10, 20];
const QUESTIONS_PER_CALLER = 4;
/** A question every this many ms per caller (from the end of one to the start of the next). */
const GAP_MS = 4_500;
/** The whole part's bound (the brief: under 6 minutes). */
const BUDGET_MS = 5.5 * 60_000;

export interface LevelFigures {
  rooms: number;
  agentsJoined: number;
  joinMs: number;
  /** Every question's response delay (end of speech as sent → first loud audio of its answer); null: no answer. */
  responsesMs: (number | null)[];
  p50Ms: number;
  p95Ms: number;
  answered: number;
  asked: number;
  conversationSeconds: number;
  workerCpuSeconds: number;
  cpuSecondsPerConversationSecond: number;
  /** This process (the callers' rtc-node) per conversation-second: it competes for the same cores. */
  callerCpuSecondsPerConversationSecond: number;
  /** Peak per worker over the level. */
  workerMemory: Memory[];
}

interface Asked {
  /** performance.now() of this process: the clip's first sample, the end of its sound. */
  startAt: number;
  soundEndAt: number;
}

/** The questions at a fixed pace (a late answer does not hold the caller back: an overloaded agent falls behind). */
async function converse(caller: Caller, clips: Int16Array[], offsetMs: number): Promise<Asked[]> {
  await sleep(offsetMs);
  const asked: Asked[] = [];
  for (const clip of clips) {
    const startAt = performance.now();
    const soundEndAt = await caller.say(clip);
    const sentAt = performance.now();
    asked.push({ startAt, soundEndAt });
    const nextAt = sentAt + GAP_MS;
    if (nextAt > performance.now()) await sleep(nextAt - performance.now());
  }
  // Room for the last answer.
  await sleep(3_000);
  return asked;
}

const toEpoch = (performanceMs: number) => performance.timeOrigin + performanceMs;
const fromEpoch = (epochMs: number) => epochMs - performance.timeOrigin;

/**
 * Each question's response delay, tied to its own answer: under load an earlier answer may still be playing when a
 * question ends, so "the first loud audio after it" would time the wrong answer. The worker's turn_trace for the turn
 * that ended with this question says when that answer's first frame left; the caller's first loud audio from then on
 * is the answer. null: no turn, or no audio.
 */
function responses(caller: Caller, asked: Asked[], workerTraces: ReturnType<typeof traces>): (number | null)[] {
  return asked.map((q) => {
    const trace = workerTraces.filter((t) => t.turnEndAt !== undefined && t.turnEndAt > toEpoch(q.startAt) && t.turnEndAt < toEpoch(q.soundEndAt) + 3_000).at(-1);
    if (trace?.firstFrameOutAt === undefined) return null;
    const heardAt = caller.firstLoudAfter(fromEpoch(trace.firstFrameOutAt) - 20);
    return heardAt === undefined ? null : heardAt - q.soundEndAt;
  });
}

async function level(stack: LiveStack, n: number, clips: Int16Array[], progress: (line: string) => void): Promise<LevelFigures> {
  const callers = Array.from({ length: n }, (_, i) => new Caller(`bench-density-${n}-${i}`));
  const rooms = callers.map(() => `bench-density-${randomUUID()}`);
  const joinStarted = performance.now();
  try {
    progress(`density: ${n} room(s): callers joining, agents launching`);
    const joined = await Promise.allSettled(callers.map(async (c, i) => {
      const { token, url } = await stack.token(rooms[i]!, c.identity);
      await c.join(url, token);
      await c.agent(60_000);
      await waitFor('the agent listening', () => c.heardByAgent && c.agentState() === 'listening', 30_000);
    }));
    const joinMs = performance.now() - joinStarted;
    const ready = callers.filter((_, i) => joined[i]!.status === 'fulfilled');
    const readyRooms = rooms.filter((_, i) => joined[i]!.status === 'fulfilled');
    const tasks = await Promise.all(readyRooms.map(async (r) => (await stack.tasks(r)).find((t) => t.state === 'running')));
    const pids = tasks.filter((t) => t?.pid != null).map((t) => t!.pid!);
    // A worker that exits mid-level keeps the CPU it had used: the last reading counts.
    const lastCpu = new Map<number, number>();
    const cpuNow = () => pids.reduce((sum, pid) => {
      const cpu = cpuSeconds(pid);
      if (cpu !== undefined) lastCpu.set(pid, cpu);
      return sum + (lastCpu.get(pid) ?? 0);
    }, 0);
    const peak = new Map<number, Memory>();
    const sample = () => {
      for (const pid of pids) {
        const m = memory(pid);
        if (m && m.rssBytes > (peak.get(pid)?.rssBytes ?? 0)) peak.set(pid, m);
      }
    };
    const sampler = setInterval(() => (sample(), cpuNow()), 1_000);
    const cpuBefore = cpuNow();
    const ownBefore = process.cpuUsage();
    const started = performance.now();
    progress(`density: ${n} room(s): ${ready.length} agents ready after ${(joinMs / 1000).toFixed(1)} s; ${QUESTIONS_PER_CALLER} questions each`);
    // Callers start spread over one question's period, as independent conversations would.
    const asked = await Promise.all(ready.map((c, i) => converse(c, clips, (i * GAP_MS) / Math.max(1, ready.length))));
    const wallS = (performance.now() - started) / 1000;
    const cpuAfter = cpuNow();
    const logs = stack.logs();
    const responseMs = ready.flatMap((c, i) => responses(c, asked[i]!, tasks[i] ? traces(logs, tasks[i]!.taskId) : []));
    const own = process.cpuUsage(ownBefore);
    clearInterval(sampler);
    sample();
    const conversationSeconds = wallS * Math.max(1, ready.length);
    const answeredMs = responseMs.filter((r): r is number => r !== null);
    return {
      rooms: n,
      agentsJoined: ready.length,
      joinMs,
      responsesMs: responseMs,
      p50Ms: percentile(answeredMs, 50),
      p95Ms: percentile(answeredMs, 95),
      answered: answeredMs.length,
      asked: n * QUESTIONS_PER_CALLER,
      conversationSeconds,
      workerCpuSeconds: cpuAfter - cpuBefore,
      cpuSecondsPerConversationSecond: (cpuAfter - cpuBefore) / conversationSeconds,
      callerCpuSecondsPerConversationSecond: (own.user + own.system) / 1e6 / conversationSeconds,
      workerMemory: [...peak.values()],
    };
  } finally {
    await Promise.all(callers.map((c) => c.leave()));
    // The next level starts on a quiet machine: these workers leave (their callers gone) and exit.
    await waitFor('the workers to exit', async () => (await Promise.all(rooms.map((r) => stack.tasks(r)))).flat().every((t) => t.state === 'exited'), 30_000, 200).catch(() => progress('density: some workers were still running after 30 s'));
  }
}

export interface MemoryStep {
  step: string;
  rssBytes: number;
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

/** test/bench/memory-probe.ts in a fresh node: one worker's parts loaded one at a time. */
export async function memorySteps(): Promise<MemoryStep[]> {
  const probe = join(import.meta.dirname, 'memory-probe.ts');
  const { stdout } = await run(process.execPath, ['--expose-gc', probe], { timeout: 60_000, env: { ...process.env, NODE_ENV: 'production' } });
  const line = stdout.split('\n').find((l) => l.startsWith('{"steps"'));
  if (!line) throw new Error(`the memory probe printed no figures: ${stdout.slice(-500)}`);
  return (JSON.parse(line) as { steps: MemoryStep[] }).steps;
}

export interface DensityFigures {
  levels: LevelFigures[];
  skipped: number[];
  memorySteps: MemoryStep[];
  /** The largest N whose p95 stays within 10 % of one room's. */
  largestWithinTenPercent: number | undefined;
}

export async function runDensity(dir: string, progress: (line: string) => void): Promise<DensityFigures> {
  const partStarted = performance.now();
  progress('density: the memory probe (one worker\'s parts, one at a time)');
  const memory = await memorySteps();
  const clips = await Promise.all(Array.from({ length: QUESTIONS_PER_CALLER }, (_, i) => question(dir, i)));
  progress('density: starting the live stack');
  const stack = await startLiveStack({ bindings: { STT_PROVIDERS: 'deepgram', LLM_PROVIDERS: 'openai', TTS_PROVIDERS: 'elevenlabs' }, quietFunctions: true });
  const levels: LevelFigures[] = [];
  const skipped: number[] = [];
  try {
    setFixedDelays(stack.fakes);
    for (const n of LEVELS) {
      // A level takes about: joins (grows with N on two cores), the questions, the workers' exit.
      const estimateMs = 15_000 + n * 3_000 + QUESTIONS_PER_CALLER * (GAP_MS + 1_500) + GAP_MS + 3_000;
      const broken = levels.some((l) => l.agentsJoined < l.rooms || l.answered < 0.9 * l.asked);
      if (broken || performance.now() - partStarted + estimateMs > BUDGET_MS) {
        skipped.push(n);
        continue;
      }
      levels.push(await level(stack, n, clips, progress));
    }
  } finally {
    await stack.close();
  }
  return { levels, skipped, memorySteps: memory, largestWithinTenPercent: largestWithin(levels) };
}
