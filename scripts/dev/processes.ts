// The processes `npm run dev` starts, each in its own process group (detached) so that a terminal's Ctrl-C reaches
// only this script, which then stops them in order; and so that a forced stop can kill a whole group (wrangler's
// workerd, a worker's helpers) rather than leave grandchildren behind. Their output is forwarded line by line,
// prefixed with their name.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT } from './settings.ts';

export interface Service {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** Called before any signal we send, so our own stops are not reported as crashes. */
  markStopping(): void;
}

export interface StartOptions {
  env: Record<string, string | undefined>;
  /** Sees every line the process prints (after it was forwarded). */
  onLine?: (line: string) => void;
  /** Called when the process ends on its own (not because we stopped it). */
  onUnexpectedExit: (how: string) => void;
}

export function startService(name: string, command: string, args: string[], options: StartOptions): Service {
  const child = spawn(command, args, { cwd: ROOT, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stopping = false;
  const exited = new Promise<void>((done) => {
    child.once('exit', (code, signal) => {
      if (!stopping) options.onUnexpectedExit(signal ?? `code ${code}`);
      done();
    });
    child.once('error', (err) => {
      // spawn failed (ENOENT…): there will be no exit event.
      if (child.pid === undefined) {
        options.onUnexpectedExit(`could not start ${command}: ${err.message}`);
        done();
      }
    });
  });
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      if (!line.trim()) return;
      out.write(`[${name}] ${line}\n`);
      options.onLine?.(line);
    });
  }
  return { name, child, exited, markStopping: () => (stopping = true) };
}

function running(s: Service): boolean {
  return s.child.exitCode === null && s.child.signalCode === null && s.child.pid !== undefined;
}

/** Signals a process group, falling back to the process itself. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to the process, then SIGKILL to its whole group after `graceMs`; resolves once it has exited. */
export async function stopService(s: Service, graceMs: number): Promise<void> {
  s.markStopping();
  if (!running(s)) return;
  s.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    process.stderr.write(`[${s.name}] did not stop within ${graceMs / 1000} s: killed\n`);
    signalGroup(s.child.pid!, 'SIGKILL');
  }, graceMs);
  await s.exited;
  clearTimeout(timer);
  // Whatever it started in its group and left behind (wrangler's workerd if wrangler died first).
  signalGroup(s.child.pid!, 'SIGKILL');
}

export function killService(s: Service): void {
  s.markStopping();
  if (s.child.pid !== undefined) signalGroup(s.child.pid, 'SIGKILL');
}
