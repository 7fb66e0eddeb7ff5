// The local launcher (infra/local/launcher) as a real process for tests, on a free port.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { TaskView } from '../../infra/local/launcher/tasks.ts';
import { waitFor } from './wait.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
const LAUNCHER_MAIN = join(REPO_ROOT, 'infra/local/launcher/main.ts');
/** A stand-in worker that records its env to $FIXTURE_OUT_DIR and waits for SIGTERM. */
export const RECORDING_WORKER_COMMAND = 'node test/fixtures/recording-worker.ts';

/** The launcher refuses to start without a token; tests use this one unless they pass their own. */
export const TEST_LAUNCHER_TOKEN = 'test-launcher-token-0123456789';

/** What GET /v1/tasks lists: the launcher's own view type. */
export type LauncherTask = TaskView;

export interface RunningLauncher {
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  tasks(token?: string): Promise<LauncherTask[]>;
  stop(): Promise<void>;
}

export function spawnLauncher(env: Record<string, string>): Omit<RunningLauncher, 'url' | 'tasks'> {
  const child = spawn(process.execPath, [LAUNCHER_MAIN], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOCAL_LAUNCHER_PORT: '0',
      LOCAL_LAUNCHER_TOKEN: TEST_LAUNCHER_TOKEN,
      // The stand-in worker's settings come from the launcher's env: allow them through (workers get nothing else).
      LOCAL_LAUNCHER_WORKER_ENV: 'FIXTURE_OUT_DIR,FIXTURE_MAX_LIFETIME_MS',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { child, stdout: () => out, stderr: () => err, exited, stop };
}

export async function startLocalLauncher(env: Record<string, string>): Promise<RunningLauncher> {
  const launcher = spawnLauncher(env);
  let gone = false;
  void launcher.exited.then(() => (gone = true));
  const port = await waitFor('the launcher to listen', () => {
    if (gone) throw new Error(`launcher exited before listening: ${launcher.stderr()}`);
    const line = launcher.stdout().split('\n').find((l) => l.includes('"event":"listening"'));
    return line ? (JSON.parse(line) as { port: number }).port : undefined;
  });
  const url = `http://127.0.0.1:${port}`;
  const tasks = async (token = env.LOCAL_LAUNCHER_TOKEN ?? TEST_LAUNCHER_TOKEN) => {
    const res = await fetch(`${url}/v1/tasks`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`GET /v1/tasks answered ${res.status}`);
    return ((await res.json()) as { tasks: LauncherTask[] }).tasks;
  };
  return { ...launcher, url, tasks };
}
