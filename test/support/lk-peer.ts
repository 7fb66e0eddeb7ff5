// LiveKit's own CLI as a caller: `lk room join --publish speech.ogg`, a peer whose client code is not ours (Go SDK,
// pion), so what it gets from the system is what any LiveKit client would get. The speech file is Ogg Opus at 48 kHz,
// the only audio format `lk` publishes from a file; it plays once at real-time pace and is then unpublished.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { liveKitCliBinary } from '../../infra/local/livekit/server.ts';
import { convertWav, speechWav, type Part } from '../e2e/console-support.ts';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/** The parts (espeak-ng speech, silences) as one Ogg Opus file at 48 kHz mono; returns its path. */
export async function speechOgg(dir: string, name: string, parts: Part[]): Promise<string> {
  const wav48k = await convertWav(await speechWav(dir, name, parts), join(dir, `${name}-48k.wav`), 48_000, 1);
  const ogg = join(dir, `${name}.ogg`);
  await run('opusenc', ['--quiet', wav48k, ogg], { timeout: 20_000 });
  return ogg;
}

export interface LkPeer {
  identity: string;
  room: string;
  child: ChildProcess;
  /** What it printed (bounded tail), for failure messages. */
  output(): string;
  /** Resolves once `lk` says it is in the room; rejects if it exits first or takes longer than `timeoutMs`. */
  connected(timeoutMs?: number): Promise<void>;
  /** SIGTERM (lk leaves the room cleanly), then SIGKILL after a grace. */
  kill(): Promise<void>;
}

const running = new Set<LkPeer>();

/** Joins `room` as `identity` and publishes `ogg` (it stays joined after the file ends, until killed). */
export function lkJoin(options: { url: string; apiKey: string; apiSecret: string; room: string; identity: string; ogg: string }): LkPeer {
  const args = ['room', 'join', '--url', options.url, '--api-key', options.apiKey, '--api-secret', options.apiSecret];
  args.push('--identity', options.identity, '--publish', options.ogg, options.room);
  // No LIVEKIT_* from the shell: the flags are the whole truth.
  const child = spawn(liveKitCliBinary(), args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => (out = (out + chunk.toString()).slice(-10_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const peer: LkPeer = {
    identity: options.identity,
    room: options.room,
    child,
    output: () => out,
    async connected(timeoutMs = 20_000) {
      await waitFor(`lk ${options.identity} in room ${options.room}`, () => {
        if (gone()) throw new Error(`lk exited (${child.exitCode ?? child.signalCode}) before joining:\n${out}`);
        return out.includes('connected to room');
      }, timeoutMs);
    },
    async kill() {
      running.delete(peer);
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(peer);
  return peer;
}

/** Kills every lk still running (for afterAll: a failed test must not leave one in a room). */
export async function killLkPeers(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}
