// The contenders' processes: each started in its own process group (LiveKit Agents forks job and inference
// processes; Python may too), its output kept (bounded) for diagnosis, and the whole group ended on stop, on Ctrl-C
// or when the bench exits, by the group id we got at spawn, never by name.
import { spawn, type ChildProcess } from 'node:child_process';

const LOG_LIMIT = 200_000;
const running = new Set<ChildProcess>();

export interface PeerProcess {
  name: string;
  pid: number;
  /** stdout and stderr, interleaved (the last LOG_LIMIT characters). */
  log(): string;
  /** Resolves with the first line matching, or rejects after timeoutMs (or when the process exits first). */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

export function startProcess(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): PeerProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const watchers = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-LOG_LIMIT);
    for (const check of watchers) check();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      // Children of the group may outlive its leader (forked job processes): end them too.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // nothing left
        }
      }
      for (const check of watchers) check();
      resolve(code);
    });
  });
  return {
    name,
    pid: child.pid ?? -1,
    log: () => output,
    exited,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
        const done = (error?: Error, line?: string) => {
          clearTimeout(timer);
          watchers.delete(check);
          if (error) reject(error);
          else resolve(line!);
        };
        const check = () => {
          const line = output.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) done(undefined, line);
          else if (!running.has(child)) done(new Error(`${name} exited (code ${child.exitCode}) before a line matching ${pattern}`));
        };
        watchers.add(check);
        check();
      });
    },
    async stop(graceMs = 5_000) {
      if (!running.has(child)) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Synchronous last resort (process 'exit'): every group still running gets SIGKILL. */
export function killAllPeerProcesses(): void {
  for (const child of running) killGroup(child, 'SIGKILL');
}

process.once('exit', killAllPeerProcesses);
