// The console CLI as a child process in REAL TIME (no --fast): the caller's WAV plays at 1x, so every delay the
// report and the output waveform show is wall-clock time against the fakes' real latencies. The e2e helper
// (runConsole) always passes --fast, hence this small runner; it reads results with the e2e types.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWavFile, type DecodedWav } from '../../worker/audio/wav-read.ts';
import type { ConsoleReportJson } from '../e2e/console-support.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONSOLE = join(REPO_ROOT, 'worker', 'console.ts');
/** How long the console may run past the input: its own quiet period and shutdown take a few seconds. */
const TAIL_ALLOWANCE_MS = 30_000;

export interface RealtimeRun {
  report: ConsoleReportJson;
  output: DecodedWav;
}

let running: ChildProcess | undefined;

/** Kills the console started by this module, if one still runs (Ctrl-C, or a bench that failed half-way). */
export function killRunningConsole(): void {
  if (running && running.exitCode === null && running.signalCode === null) running.kill('SIGKILL');
  running = undefined;
}

export async function runConsoleRealtime(options: {
  input: string;
  inputDurationMs: number;
  dir: string;
  name: string;
  env: Record<string, string>;
}): Promise<RealtimeRun> {
  const output = join(options.dir, `${options.name}-out.wav`);
  const reportPath = join(options.dir, `${options.name}-report.json`);
  const timeoutMs = options.inputDurationMs + TAIL_ALLOWANCE_MS;
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...options.env };
  const child = spawn(process.execPath, [CONSOLE, '--input', options.input, '--output', output, '--report', reportPath], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running = child;
  let logs = '';
  const keep = (chunk: Buffer) => (logs = (logs + chunk.toString()).slice(-8_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exit = await new Promise<{ code: number | null; timedOut: boolean }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, timedOut: true });
    }, timeoutMs);
    child.once('error', (err) => (clearTimeout(timer), reject(err)));
    child.once('exit', (code) => (clearTimeout(timer), resolve({ code, timedOut: false })));
  });
  running = undefined;
  if (exit.timedOut) throw new Error(`the console ran longer than ${timeoutMs} ms and was killed; last logs:\n${logs}`);
  if (exit.code !== 0) throw new Error(`the console exited with ${exit.code}; last logs:\n${logs}`);
  const report = JSON.parse(await readFile(reportPath, 'utf8')) as ConsoleReportJson;
  return { report, output: await readWavFile(output) };
}
