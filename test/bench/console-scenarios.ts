// Scenarios 1 and 2: a multi-turn conversation from a WAV of real speech, the console in real time, the five fakes
// on the 'realistic' profile. Each caller turn is measured twice: by report.json (the worker's own clocks) and on
// the waveforms (where the caller's speech ends on the input by energy → where the agent's first sound is on the
// output), so a reader can check the first against the second.
import { readWavFile, type DecodedWav } from '../../worker/audio/wav-read.ts';
import {
  consoleEnv,
  durationMs,
  firstLoudMs,
  loudRegions,
  runConsole,
  speechWav,
  startFakes,
  type ConsoleReportJson,
  type Fakes,
  type Part,
  type Region,
  type ReportTurn,
} from '../e2e/console-support.ts';

export const QUESTIONS = [
  'What time is it',
  'Tell me a joke',
  'How far away is the moon',
  'What is the capital of France',
  'Can you help me',
  'Where is the train station',
];
const TRANSCRIPTS = QUESTIONS.map((q) => q.toLowerCase());
/** The questions as Deepgram writes them with smart_format=true (which the worker asks for): cased and punctuated. */
export const FORMATTED_TRANSCRIPTS = ['What time is it?', 'Tell me a joke.', 'How far away is the moon?', 'What is the capital of France?', 'Can you help me?', 'Where is the train station?'];
// One short sentence each: every answer is one TTS request, over well before the next question.
const REPLIES = [
  'It is ten past nine.',
  'Cats nap all day.',
  'About four hundred thousand kilometres.',
  'The capital is Paris.',
  'Yes, I can help.',
  'It is two streets away.',
];
export const TURNS = QUESTIONS.length;
export const LEAD_MS = 1_000;

export interface TurnMeasure {
  /** Which question (0-based) this turn answered: the same question in two scenarios saw the same fake delays. */
  question: number;
  reportEndToEndMs?: number;
  waveformEndToEndMs?: number;
  endOfUtteranceDelayMs?: number;
  sttFinalLatencyMs?: number;
  llmTtftMs?: number;
  ttsTtfbMs?: number;
  failovers: number;
  llmProvider?: string;
  interrupted: boolean;
}

export interface ScenarioResult {
  name: string;
  turns: TurnMeasure[];
  /** Caller questions (found on the input) that no turn in report.json answered. */
  unanswered: number;
  /** Turns in report.json beyond one per question (a question split in two, an idle prompt…). */
  extraTurns: number;
  wallMs: number;
}

export interface ScenarioSpec {
  name: string;
  /** Silence after each question: room for the slowest answer to be over before the next question starts. */
  gapMs: number;
  /** Faults on top of the baseline (all fakes 'realistic', scripted transcripts and replies). */
  faults?(fakes: Fakes): void;
}

export const SCENARIOS = {
  baseline: { name: 'baseline', gapMs: 6_000 },
  primaryLlm500: {
    name: 'primary LLM answers 500',
    gapMs: 6_000,
    faults: (f) => f.openai.faults.push({ kind: 'status', status: 500, route: 'chat', times: TURNS }),
  },
  primaryLlmStall: {
    name: 'primary LLM stalls after its first text',
    // The stall lasts until the worker's stall watchdog (3 s) gives up on it: answers come ~3.5 s later.
    gapMs: 9_000,
    // chunks: 3 = the opening role chunk and the first two text pieces; 20 s = longer than any watchdog.
    faults: (f) => f.openai.faults.push({ kind: 'stallAfter', chunks: 3, ms: 20_000, route: 'chat', times: TURNS }),
  },
} satisfies Record<string, ScenarioSpec>;

export async function makeQuestionsWav(dir: string, gapMs: number): Promise<string> {
  const parts: Part[] = [{ silenceMs: LEAD_MS }];
  for (const q of QUESTIONS) parts.push({ say: q }, { silenceMs: gapMs });
  return speechWav(dir, `questions-gap${gapMs}`, parts);
}

/** The fakes as a scenario wants them (also for the same conversation over WebRTC, test/bench/livekit-webrtc.ts). */
export function arrange(fakes: Fakes, spec: ScenarioSpec): void {
  for (const fake of [fakes.openai, fakes.anthropic, fakes.groq, fakes.deepgram, fakes.elevenlabs]) fake.setProfile('realistic');
  fakes.deepgram.script.pushTranscripts(...TRANSCRIPTS);
  // Whichever LLM ends up answering says the same short sentence.
  for (const llm of [fakes.openai, fakes.anthropic, fakes.groq]) llm.script.pushReplies(...REPLIES);
  spec.faults?.(fakes);
}

/**
 * Fresh fakes for every scenario: their latency jitter follows each fake's request count (which reset() keeps), so
 * the same question sees the same vendor delays in every scenario and the scenarios differ only by their faults.
 */
export async function runScenario(spec: ScenarioSpec, input: string, dir: string): Promise<ScenarioResult> {
  const fakes = await startFakes();
  try {
    arrange(fakes, spec);
    const inputWav = await readWavFile(input);
    const started = performance.now();
    const run = await runConsole({
      input,
      dir,
      name: spec.name.replace(/\W+/g, '-'),
      env: { ...consoleEnv(fakes), LOG_LEVEL: 'warn' },
      fast: false,
      // Real time: the input's length, then the console's quiet period and shutdown.
      timeoutMs: durationMs(inputWav) + 30_000,
    });
    const wallMs = performance.now() - started;
    return { name: spec.name, wallMs, ...measureTurns(run.report, inputWav, run.output) };
  } finally {
    await fakes.close();
  }
}

/** Pairs each question heard on the input with the report's turn for it and with the answer on the output. */
function measureTurns(report: ConsoleReportJson, input: DecodedWav, output: DecodedWav): Omit<ScenarioResult, 'name' | 'wallMs'> {
  const speech: Region[] = loudRegions(input);
  const turns: TurnMeasure[] = [];
  let unanswered = 0;
  for (const [i, spoken] of speech.entries()) {
    const nextStartMs = speech[i + 1]?.startMs ?? durationMs(output);
    // The last turn that ended within this question's stretch (a question split in two is answered once, last).
    const turn = report.turns.filter((t) => t.userSpeechEndedAtMs !== undefined && t.userSpeechEndedAtMs >= spoken.startMs && t.userSpeechEndedAtMs < nextStartMs).at(-1);
    if (!turn) {
      unanswered++;
      continue;
    }
    const heardAtMs = firstLoudMs(output, spoken.endMs, nextStartMs);
    turns.push(turnMeasure(i, turn, heardAtMs === undefined ? undefined : heardAtMs - spoken.endMs));
  }
  return { turns, unanswered, extraTurns: Math.max(0, report.turns.length - turns.length) };
}

function turnMeasure(question: number, turn: ReportTurn, waveformEndToEndMs: number | undefined): TurnMeasure {
  return {
    question,
    reportEndToEndMs: turn.endToEndMs,
    waveformEndToEndMs,
    endOfUtteranceDelayMs: turn.endOfUtteranceDelayMs,
    sttFinalLatencyMs: turn.sttFinalLatencyMs,
    llmTtftMs: turn.llmTtftMs,
    ttsTtfbMs: turn.ttsTtfbMs,
    failovers: turn.failovers,
    llmProvider: turn.providers?.llm,
    interrupted: turn.interrupted ?? false,
  };
}
