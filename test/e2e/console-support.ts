// The console end to end: real speech from espeak-ng laid out with sox, the five fake vendors in this process, the
// console CLI as a child process (`--fast`), and the tools to read what came back: report.json and the output WAV,
// measured by energy in 20 ms windows (the transport's frame).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { HistoryMessage, ProviderOutcome, TurnTiming } from '../../functions/contract.ts';
import type { TurnDetail } from '../../worker/agent/types.ts';
import { Vad } from '../../worker/audio/vad.ts';
import { readWavFile, type DecodedWav } from '../../worker/audio/wav-read.ts';
import type { ResourceSnapshot } from '../../worker/console-report.ts';
import { startFakeAnthropic } from '../fakes/anthropic.ts';
import { startFakeDeepgram, type FakeDeepgram } from '../fakes/deepgram.ts';
import { startFakeElevenLabs } from '../fakes/elevenlabs.ts';
import { startFakeGroq } from '../fakes/groq.ts';
import type { FakeServer } from '../fakes/kit/server.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';

const run = promisify(execFile);
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONSOLE = join(REPO_ROOT, 'worker', 'console.ts');

/** The transport's frame: the resolution of every time on the console's timeline. */
export const FRAME_MS = 20;
/** espeak-ng's own output format. */
export const ESPEAK_RATE = 22_050;
/** RMS (int16) of a 20 ms window above which it holds sound: espeak and the fake TTS sit far above, silence is 0. */
export const LOUD_RMS = 300;

// ---------------------------------------------------------------------------------------------------------------
// The fakes

export interface Fakes {
  openai: FakeServer;
  anthropic: FakeServer;
  groq: FakeServer;
  deepgram: FakeDeepgram;
  elevenlabs: FakeServer;
  /** The provider settings a console needs to use them (and nothing from this shell's environment). */
  env: Record<string, string>;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakes(): Promise<Fakes> {
  const [openai, anthropic, groq, deepgram, elevenlabs] = await Promise.all([
    startFakeOpenAI({ profile: 'instant' }),
    startFakeAnthropic({ profile: 'instant' }),
    startFakeGroq({ profile: 'instant' }),
    startFakeDeepgram({ profile: 'instant' }),
    startFakeElevenLabs({ profile: 'instant' }),
  ]);
  const all = [openai, anthropic, groq, deepgram, elevenlabs];
  return {
    openai,
    anthropic,
    groq,
    deepgram,
    elevenlabs,
    env: {
      OPENAI_BASE_URL: `${openai.url}/v1`,
      ANTHROPIC_BASE_URL: anthropic.url,
      GROQ_BASE_URL: groq.url,
      DEEPGRAM_BASE_URL: deepgram.url,
      ELEVENLABS_BASE_URL: elevenlabs.url,
      OPENAI_API_KEY: 'fake-openai-key',
      ANTHROPIC_API_KEY: 'fake-anthropic-key',
      GROQ_API_KEY: 'fake-groq-key',
      DEEPGRAM_API_KEY: 'fake-deepgram-key',
      ELEVENLABS_API_KEY: 'fake-elevenlabs-key',
    },
    reset: () => all.forEach((f) => f.reset()),
    close: async () => {
      await Promise.allSettled(all.map((f) => f.close()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Caller audio

export type Part =
  /** A sentence spoken by espeak-ng (mono 22.05 kHz). */
  | { say: string }
  | { silenceMs: number }
  /** The first `ms` of a spoken word (its leading silence cut): a short sound, not a turn. */
  | { burstOf: string; ms: number };

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `${prefix}-`));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Writes the parts, in order, as one mono 22.05 kHz WAV and returns its path. */
export async function speechWav(dir: string, name: string, parts: Part[]): Promise<string> {
  const pieces: string[] = [];
  for (const [i, part] of parts.entries()) {
    const piece = join(dir, `${name}-${i}.wav`);
    if ('say' in part) {
      await run('espeak-ng', ['-w', piece, part.say], { timeout: 20_000 });
    } else if ('silenceMs' in part) {
      await run('sox', ['-n', '-r', String(ESPEAK_RATE), '-c', '1', '-b', '16', piece, 'trim', '0', seconds(part.silenceMs)], { timeout: 20_000 });
    } else {
      const word = join(dir, `${name}-${i}-word.wav`);
      await run('espeak-ng', ['-w', word, part.burstOf], { timeout: 20_000 });
      // Leading silence off, then the first `ms` of the sound.
      await run('sox', [word, piece, 'silence', '1', '0.01', '2%', 'trim', '0', seconds(part.ms)], { timeout: 20_000 });
    }
    pieces.push(piece);
  }
  const path = join(dir, `${name}.wav`);
  await run('sox', [...pieces, path], { timeout: 20_000 });
  return path;
}

/** The same audio at another rate and channel count (sox copies mono into every channel). */
export async function convertWav(input: string, output: string, sampleRate: number, channels: number): Promise<string> {
  await run('sox', [input, '-r', String(sampleRate), '-c', String(channels), '-b', '16', output], { timeout: 20_000 });
  return output;
}

/** `text` spoken by espeak-ng as 48 kHz mono PCM: what a WebRTC caller's microphone sends. */
export async function spokenPcm48k(dir: string, name: string, text: string): Promise<Int16Array> {
  const wav = await convertWav(await speechWav(dir, name, [{ say: text }]), join(dir, `${name}-48k.wav`), 48_000, 1);
  return (await readWavFile(wav)).pcm;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

// ---------------------------------------------------------------------------------------------------------------
// The console process

export type ReportTurn = TurnTiming & Partial<TurnDetail>;

/** report.json as worker/console-report.ts writes it (the parts these tests read). */
export interface ConsoleReportJson {
  timelineMs: number;
  inputEndedAtMs: number;
  summary: { turns: number; interruptions: number; failovers: number; failedAttempts: number; cpuMs: number; peakRssBytes: number };
  turns: ReportTurn[];
  outcomes: ProviderOutcome[];
  history: HistoryMessage[];
  states: { atMs: number; state: string }[];
  transcripts: { atMs: number; speaker: 'user' | 'agent'; text: string; final: boolean; segmentId: string }[];
  diagnostics: { resources: ResourceSnapshot[] };
}

export interface ConsoleRun {
  report: ConsoleReportJson;
  output: DecodedWav;
  /** stdout and stderr (pino logs at LOG_LEVEL, info by default: a few lines a turn), for failure messages. */
  logs: string;
}

/** A console run's own bound (a few seconds is usual); a test's bound must leave room above it. */
export const RUN_TIMEOUT_MS = 30_000;
/** For `it(…, TEST_TIMEOUT_MS)`: one or two runs plus making the speech, with room for a loaded machine. */
export const TEST_TIMEOUT_MS = 50_000;

const running = new Set<ChildProcess>();

/** Kills any console still running (for afterAll: a failed test must not leave one behind). */
export function killConsoles(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
}

/**
 * `node worker/console.ts --input … --output … --report … --fast` with only the given settings in its environment;
 * rejects when it exits non-zero or outlives `timeoutMs` (then it is killed).
 */
export async function runConsole(options: {
  input: string;
  dir: string;
  name: string;
  env: Record<string, string>;
  timeoutMs?: number;
  /** Flags for node itself (e.g. --expose-gc, so the console's resource snapshots count live memory only). */
  nodeArgs?: string[];
  /** --fast (the default); false plays the input in real time, so delays are wall-clock against the fakes' latencies. */
  fast?: boolean;
}): Promise<ConsoleRun> {
  const output = join(options.dir, `${options.name}-out.wav`);
  const reportPath = join(options.dir, `${options.name}-report.json`);
  const timeoutMs = options.timeoutMs ?? RUN_TIMEOUT_MS;
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...options.env };
  // On a timeout the child is asked (SIGUSR2) for a diagnostic report first: its libuv handles say what held it.
  const diagnostics = ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${options.dir}`, `--report-filename=${options.name}-hung.json`];
  const child = spawn(process.execPath, [...diagnostics, ...(options.nodeArgs ?? []), CONSOLE, '--input', options.input, '--output', output, '--report', reportPath, ...(options.fast === false ? [] : ['--fast'])], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let logs = '';
  const keep = (chunk: Buffer) => {
    // Bounded: the tail is what explains a failure.
    logs = (logs + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exit = await new Promise<{ code: number | null; timedOut: boolean }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGUSR2');
      setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ code: null, timedOut: true });
      }, 1_000);
    }, timeoutMs);
    child.once('error', (err) => (clearTimeout(timer), reject(err)));
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, timedOut: false })));
  });
  running.delete(child);
  if (exit.timedOut) {
    const handles = await hungHandles(join(options.dir, `${options.name}-hung.json`));
    throw new Error(`the console ran longer than ${timeoutMs} ms and was killed; logs:\n${logs}\nlibuv handles:\n${handles}`);
  }
  if (exit.code !== 0) throw new Error(`the console exited with ${exit.code}; logs:\n${logs}`);
  const report = JSON.parse(await readFile(reportPath, 'utf8')) as ConsoleReportJson;
  return { report, output: await readWavFile(output), logs };
}

/** The referenced libuv handles of a diagnostic report (what keeps a process alive), one a line. */
async function hungHandles(reportPath: string): Promise<string> {
  try {
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as { libuv?: Record<string, unknown>[] };
    return (report.libuv ?? [])
      .filter((h) => h.is_referenced)
      .map((h) => JSON.stringify(h))
      .join('\n');
  } catch (err) {
    return `(no diagnostic report: ${err instanceof Error ? err.message : String(err)})`;
  }
}

/** After a file's runs: kill any console still running, stop the fakes, remove the run folder. */
export async function tearDown(fakes: Fakes | undefined, dir: string | undefined): Promise<void> {
  killConsoles();
  await fakes?.close();
  await removeDir(dir);
}

/** The settings every run shares: no greeting and no idle prompt unless a test asks for them. */
export function consoleEnv(fakes: Fakes, extra: Record<string, string> = {}): Record<string, string> {
  // The fake OpenAI hands out its scripted replies one per request: a dropped preemptive request would take the next
  // turn's. Tests that script replies run without preemption; console-preempt.test.ts runs with it.
  return { ...fakes.env, GREETING: '', IDLE_PROMPT_MS: '0', PREEMPTIVE_GENERATION: 'off', ...extra };
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring audio

/** RMS of each 20 ms window; window i covers [i * 20, (i + 1) * 20) ms. */
export function windowRms(wav: DecodedWav, windowMs = FRAME_MS): number[] {
  const size = Math.round((wav.sampleRate * windowMs) / 1000);
  const out: number[] = [];
  for (let start = 0; start + size <= wav.pcm.length; start += size) {
    let sum = 0;
    for (let i = start; i < start + size; i++) sum += wav.pcm[i]! * wav.pcm[i]!;
    out.push(Math.sqrt(sum / size));
  }
  return out;
}

export interface Region {
  startMs: number;
  endMs: number;
}

/** Stretches of sound, with gaps shorter than `bridgeMs` (between words) bridged. */
export function loudRegions(wav: DecodedWav, bridgeMs = 300, threshold = LOUD_RMS): Region[] {
  const regions: Region[] = [];
  windowRms(wav).forEach((rms, i) => {
    if (rms < threshold) return;
    const startMs = i * FRAME_MS;
    const last = regions.at(-1);
    if (last && startMs - last.endMs <= bridgeMs) last.endMs = startMs + FRAME_MS;
    else regions.push({ startMs, endMs: startMs + FRAME_MS });
  });
  return regions;
}

/** Start times of the loud windows that start within [fromMs, toMs). */
function loudWindowsMs(wav: DecodedWav, fromMs: number, toMs: number, threshold: number): number[] {
  const rms = windowRms(wav);
  const out: number[] = [];
  for (let i = Math.ceil(fromMs / FRAME_MS); i < rms.length && i * FRAME_MS < toMs; i++) if (rms[i]! >= threshold) out.push(i * FRAME_MS);
  return out;
}

/** Start of the first loud window within [fromMs, toMs), if any. */
export function firstLoudMs(wav: DecodedWav, fromMs: number, toMs: number, threshold = LOUD_RMS): number | undefined {
  return loudWindowsMs(wav, fromMs, toMs, threshold)[0];
}

/** End of the last loud window within [fromMs, toMs), if any. */
export function lastLoudEndMs(wav: DecodedWav, fromMs: number, toMs: number, threshold = LOUD_RMS): number | undefined {
  const last = loudWindowsMs(wav, fromMs, toMs, threshold).at(-1);
  return last === undefined ? undefined : last + FRAME_MS;
}

/** Total ms of loud windows within [fromMs, toMs). */
export function loudMsWithin(wav: DecodedWav, fromMs: number, toMs: number, threshold = LOUD_RMS): number {
  return loudWindowsMs(wav, fromMs, toMs, threshold).length * FRAME_MS;
}

export function durationMs(wav: DecodedWav): number {
  return (wav.pcm.length / wav.sampleRate) * 1000;
}

/**
 * Where the console's own VAD (Silero, default settings) hears speech in a WAV: for checking that a test's input
 * means what the test says (a burst that IS heard as speech, yet too short to be a turn).
 */
export async function vadSpeech(wav: string, dir: string): Promise<Region[]> {
  const path16k = await convertWav(wav, join(dir, `vad-${Date.now()}.wav`), 16_000, 1);
  const { pcm } = await readWavFile(path16k);
  const vad = await Vad.create();
  try {
    const regions: Region[] = [];
    for (const ev of [...(await vad.push(pcm)), ...(await vad.flush())]) {
      if (ev.type === 'speech_start') regions.push({ startMs: ev.atMs, endMs: Number.POSITIVE_INFINITY });
      if (ev.type === 'speech_end') regions.at(-1)!.endMs = ev.atMs;
    }
    return regions;
  } finally {
    await vad.dispose();
  }
}

/** Words of a text, for comparing what was heard with what was said. */
export function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}
