// Real redis-server processes for tests, and the Upstash REST stand-in in front of one. Every wait is bounded; every
// redis-server started here ends with stop(), or through its watchdog shell once the test process is gone.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUpstashRestServer } from '../../infra/local/upstash-rest/server.ts';
import { closedPort } from '../fakes/kit/server.ts';

const REDIS_SERVER_BIN = '/usr/bin/redis-server';
const HOST = '127.0.0.1';
const READY_BOUND_MS = 10_000;
const STOP_BOUND_MS = 5_000;

export type RedisServerHandle = { url: string; port: number; stop(): Promise<void> };

export type UpstashStack = {
  restUrl: string;
  token: string;
  redisUrl: string;
  redisPort: number;
  /** Stops the stand-in and redis-server; safe to call more than once. */
  stop(): Promise<void>;
  /** Stops redis-server only, keeping its port, to test what clients see while Redis is down. */
  stopRedis(): Promise<void>;
  /** Starts redis-server again on the same port (empty: nothing is persisted). */
  startRedis(): Promise<void>;
  /** The path of every request the stand-in received, in order (`/`, `/pipeline`, `/multi-exec`, …). */
  restPaths(): readonly string[];
};

// redis-server runs under a small shell that stops it when this test process is gone, even when this process is
// killed outright (no 'exit' handler runs then) or a test forgets stop(); SIGTERM to the shell stops it at once.
const WATCHDOG_SCRIPT = `
parent=$1; shift
"$@" &
redis=$!
trap 'kill -TERM "$redis" 2>/dev/null; wait "$redis"; exit 0' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$redis" 2>/dev/null; do sleep 0.2; done
kill -TERM "$redis" 2>/dev/null
wait "$redis"
`;

const liveProcesses = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveProcesses) killGroup(child);
});

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}


/** Spawns redis-server on a free (or the given) port with no persistence and waits (bounded) until it answers. */
export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServerHandle> {
  if (!existsSync(REDIS_SERVER_BIN)) {
    throw new Error(`redis-server not found at ${REDIS_SERVER_BIN}: apt-get install redis-server`);
  }
  const port = options.port ?? (await closedPort());
  // Real path: redis reports its working dir resolved, and that is how we recognise our own server.
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'redis-test-')));
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  // Its own process group, so that one signal to the group reaches the watchdog shell and redis-server alike.
  const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'redis-watchdog', String(process.pid), REDIS_SERVER_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  liveProcesses.add(child);
  let output = '';
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  // 'error' stands in for 'exit' when the binary could not be started at all.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      keepTail(Buffer.from(`could not start ${REDIS_SERVER_BIN}: ${error.message}`));
      resolve();
    });
  }).then(() => {
    liveProcesses.delete(child);
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killTimer = setTimeout(() => killGroup(child), STOP_BOUND_MS);
        await exited;
        clearTimeout(killTimer);
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    await waitUntilServing(port, dir, exited, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://${HOST}:${port}`, port, stop };
}

/** redis-server plus the Upstash REST stand-in (in this process) on free ports, with a random token. */
export async function startUpstashStack(): Promise<UpstashStack> {
  let redis: RedisServerHandle | undefined = await startRedisServer();
  const redisPort = redis.port;
  const redisUrl = redis.url;
  const token = randomBytes(24).toString('base64url');
  const standIn = createUpstashRestServer({ redisUrl, token });
  const restPaths: string[] = [];
  standIn.server.on('request', (request: IncomingMessage) => restPaths.push(new URL(request.url ?? '/', 'http://stand-in').pathname));
  let restUrl: string;
  try {
    ({ url: restUrl } = await standIn.listen(0, HOST));
  } catch (error) {
    await Promise.all([standIn.close(), redis.stop()]);
    throw error;
  }

  const stopRedis = async () => {
    await redis?.stop();
    redis = undefined;
  };
  let stopping: Promise<void> | undefined;
  return {
    restUrl,
    token,
    redisUrl,
    redisPort,
    stopRedis,
    restPaths: () => restPaths,
    async startRedis() {
      if (stopping) throw new Error('the stack is stopped');
      if (redis) return;
      redis = await startRedisServer({ port: redisPort });
    },
    stop() {
      stopping ??= Promise.all([standIn.close(), stopRedis()]).then(() => undefined);
      return stopping;
    },
  };
}

async function waitUntilServing(port: number, dir: string, exited: Promise<void>, output: () => string): Promise<void> {
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const deadline = Date.now() + READY_BOUND_MS;
  while (Date.now() < deadline) {
    if (hasExited) throw new Error(`redis-server exited before serving on port ${port}:\n${output()}`);
    if (await answersFromDir(port, dir)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not answer on port ${port} within ${READY_BOUND_MS} ms:\n${output()}`);
}

/**
 * True once the redis-server on `port` answers and is ours: its working dir is the temp dir we gave it (an older
 * server still holding the port would answer PING just as well).
 */
function answersFromDir(port: number, dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('CONFIG GET dir\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      // A full reply is an error line, or "*2" plus two bulk strings: five line ends.
      const complete = reply.startsWith('-') ? reply.includes('\r\n') : reply.split('\r\n').length > 5;
      if (complete) finish(reply.includes(`\r\n${dir}\r\n`));
    });
  });
}
