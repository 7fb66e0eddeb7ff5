// Supervises worker processes: one per task, started at most once per idempotency key, stopped with SIGTERM and then
// SIGKILL after a grace period. A worker that cannot start or that exits is recorded, never fatal to the launcher.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { WORKER_ENV } from '../../../functions/contract.ts';
import type { Log } from './log.ts';
import { workerEnvironment } from './worker-env.ts';

export interface TaskRequest {
  idempotencyKey: string;
  sessionId: string;
  room: string;
  env: Record<string, string>;
}

export interface TaskView {
  taskId: string;
  room: string;
  sessionId: string;
  /** null when the process could not be started at all. */
  pid: number | null;
  state: 'running' | 'exited';
  exitCode: number | null;
  exitSignal: string | null;
  /** Why the process could not be started, when it could not. */
  error?: string;
  startedAtMs: number;
  exitedAtMs: number | null;
}

interface Task {
  view: TaskView;
  idempotencyKey: string;
  child: ChildProcess | undefined;
  killTimer: ReturnType<typeof setTimeout> | undefined;
  exited: Promise<void>;
}

export interface SupervisorOptions {
  /** argv of the worker; a leading `node` means this very Node binary, so workers run on the launcher's Node. */
  workerCommand: string[];
  cwd: string;
  stopGraceMs: number;
  maxTasks: number;
  /** The launcher's own environment: workers get only the allow-listed names of it (worker-env.ts). */
  baseEnv: NodeJS.ProcessEnv;
  workerEnvNames: readonly string[];
  log: Log;
}

export class TooManyTasksError extends Error {
  constructor(maxTasks: number) {
    super(`the launcher is already running its maximum of ${maxTasks} tasks (LOCAL_LAUNCHER_MAX_TASKS)`);
    this.name = 'TooManyTasksError';
  }
}

/** Exited tasks kept for listing and idempotency before the oldest are forgotten. */
const EXITED_TASKS_KEPT = 200;
/** Exit codes a shell would give for a command it could not find / not execute. */
const SPAWN_FAILURE_EXIT_CODES: Record<string, number> = { ENOENT: 127, EACCES: 126 };

export class TaskSupervisor {
  readonly #options: SupervisorOptions;
  readonly #tasks = new Map<string, Task>();
  readonly #taskIdByKey = new Map<string, string>();

  constructor(options: SupervisorOptions) {
    this.#options = options;
  }

  get runningCount(): number {
    let running = 0;
    for (const task of this.#tasks.values()) if (task.view.state === 'running') running++;
    return running;
  }

  /** Starts a worker, or returns the task already known for this idempotency key (`created: false`). */
  launch(request: TaskRequest): { task: TaskView; created: boolean } {
    const knownId = this.#taskIdByKey.get(request.idempotencyKey);
    const known = knownId === undefined ? undefined : this.#tasks.get(knownId);
    if (known) return { task: { ...known.view }, created: false };
    if (this.runningCount >= this.#options.maxTasks) throw new TooManyTasksError(this.#options.maxTasks);

    const task = this.#start(request);
    this.#tasks.set(task.view.taskId, task);
    this.#taskIdByKey.set(request.idempotencyKey, task.view.taskId);
    this.#forgetOldExited();
    return { task: { ...task.view }, created: true };
  }

  list(): TaskView[] {
    return [...this.#tasks.values()].map((task) => ({ ...task.view }));
  }

  get(taskId: string): TaskView | undefined {
    const task = this.#tasks.get(taskId);
    return task ? { ...task.view } : undefined;
  }

  /** SIGTERM now, SIGKILL after the grace period. Resolves when asked; `exited` tells when it is done. */
  stop(taskId: string): TaskView | undefined {
    const task = this.#tasks.get(taskId);
    if (!task) return undefined;
    if (task.view.state === 'running' && task.killTimer === undefined) {
      this.#options.log.info('task_stopping', { taskId, pid: task.view.pid, graceMs: this.#options.stopGraceMs });
      this.#signal(task, 'SIGTERM');
      task.killTimer = setTimeout(() => {
        this.#options.log.warn('task_killed', { taskId, pid: task.view.pid, reason: 'grace period over' });
        this.#signal(task, 'SIGKILL');
      }, this.#options.stopGraceMs);
    }
    return { ...task.view };
  }

  /** Stops every running worker and waits (bounded by the grace period) until all have exited. */
  async stopAll(): Promise<void> {
    const running = [...this.#tasks.values()].filter((task) => task.view.state === 'running');
    for (const task of running) this.stop(task.view.taskId);
    const bound = new Promise<void>((resolve) => setTimeout(resolve, this.#options.stopGraceMs + 2_000).unref());
    await Promise.race([Promise.all(running.map((task) => task.exited)), bound]);
  }

  #start(request: TaskRequest): Task {
    const taskId = randomUUID();
    const { log } = this.#options;
    const [program = 'node', ...args] = this.#options.workerCommand;
    const env = workerEnvironment(this.#options.workerEnvNames, this.#options.baseEnv, {
      [WORKER_ENV.room]: request.room,
      [WORKER_ENV.sessionId]: request.sessionId,
      ...request.env,
    });
    const view: TaskView = {
      taskId,
      room: request.room,
      sessionId: request.sessionId,
      pid: null,
      state: 'running',
      exitCode: null,
      exitSignal: null,
      startedAtMs: Date.now(),
      exitedAtMs: null,
    };
    let markExited!: (code: number | null, signal: string | null, error?: string) => void;
    const exited = new Promise<void>((resolve) => {
      markExited = (code, signal, error) => {
        if (view.state === 'exited') return;
        Object.assign(view, { state: 'exited', exitCode: code, exitSignal: signal, exitedAtMs: Date.now() });
        if (error) view.error = error;
        if (task.killTimer) clearTimeout(task.killTimer);
        log.info('task_exited', { taskId, pid: view.pid, exitCode: code, exitSignal: signal, error });
        resolve();
      };
    });
    const task: Task = { view, idempotencyKey: request.idempotencyKey, child: undefined, killTimer: undefined, exited };

    let child: ChildProcess;
    try {
      child = spawn(program === 'node' ? process.execPath : program, args, {
        cwd: this.#options.cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so a stop reaches whatever the worker command started too.
        detached: true,
      });
    } catch (error) {
      markExited(1, null, error instanceof Error ? error.message : String(error));
      return task;
    }
    task.child = child;
    view.pid = child.pid ?? null;
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (view.pid === null) {
        markExited(SPAWN_FAILURE_EXIT_CODES[error.code ?? ''] ?? 1, null, error.message);
      } else {
        log.error('task_process_error', { taskId, pid: view.pid, error: error.message });
      }
    });
    child.on('exit', (code, signal) => markExited(code, signal));
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source) {
        createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) =>
          log.workerLine(taskId, stream, line),
        );
      }
    }
    log.info('task_started', { taskId, pid: view.pid, room: request.room, sessionId: request.sessionId });
    return task;
  }

  #signal(task: Task, signal: NodeJS.Signals): void {
    const pid = task.view.pid;
    if (pid === null || task.view.state === 'exited') return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone or was never formed: signal the process itself.
      try {
        task.child?.kill(signal);
      } catch {
        // already exited; the exit event records it
      }
    }
  }

  #forgetOldExited(): void {
    const exited = [...this.#tasks.values()].filter((task) => task.view.state === 'exited');
    for (const task of exited.slice(0, Math.max(0, exited.length - EXITED_TASKS_KEPT))) {
      this.#tasks.delete(task.view.taskId);
      if (this.#taskIdByKey.get(task.idempotencyKey) === task.view.taskId) {
        this.#taskIdByKey.delete(task.idempotencyKey);
      }
    }
  }
}
