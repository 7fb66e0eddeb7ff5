// `npm run dev`: the whole control plane on this machine, no Docker: redis-server (unless one already answers), the
// Upstash REST stand-in, the local launcher and the functions under `wrangler dev`. Prints what runs where; Ctrl-C
// stops everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 8_000;

interface Service {
  name: string;
  child: ChildProcess;
}

const services: Service[] = [];
let stopping = false;

function envFile(): string {
  const chosen = process.env.DEV_ENV_FILE ?? (existsSync(resolve(ROOT, '.dev.vars')) ? '.dev.vars' : '.dev.vars.example');
  return resolve(ROOT, chosen);
}

function required(env: Record<string, string | undefined>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set in ${envFile()}`);
  return value;
}

function hostPort(url: string, name: string): { host: string; port: number } {
  try {
    const u = new URL(url);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    return { host: u.hostname, port };
  } catch {
    throw new Error(`${name} is not a valid URL`);
  }
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Service {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `[${name}] `;
  const forward = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) stream.write(`${prefix}${line}\n`);
  };
  child.stdout?.on('data', forward(process.stdout));
  child.stderr?.on('data', forward(process.stderr));
  child.once('error', (err) => {
    console.error(`${prefix}could not start ${command}: ${err.message}`);
    void shutdown(1);
  });
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${prefix}exited (${signal ?? `code ${code}`}); stopping the stack`);
    void shutdown(1);
  });
  const service = { name, child };
  services.push(service);
  return service;
}

async function waitUntilReady(name: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (stopping) throw new Error('stopping');
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not ready within ${READY_TIMEOUT_MS / 1000} s`);
}

const httpAnswers = (url: string) => async () => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
};

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const s of [...services].reverse()) s.child.kill('SIGTERM');
  const exits = services.map(
    (s) => new Promise<void>((done) => (s.child.exitCode !== null || s.child.signalCode !== null ? done() : s.child.once('exit', () => done()))),
  );
  const timer = setTimeout(() => services.forEach((s) => s.child.kill('SIGKILL')), STOP_GRACE_MS);
  await Promise.all(exits);
  clearTimeout(timer);
  process.exit(code);
}

async function main(): Promise<void> {
  const file = envFile();
  if (!existsSync(file)) throw new Error(`no env file at ${file}`);
  const vars = parseEnv(readFileSync(file, 'utf8')) as Record<string, string | undefined>;
  const baseEnv = { ...process.env, ...vars };
  const redisUrl = required(vars, 'REDIS_URL');
  const standInUrl = required(vars, 'UPSTASH_REDIS_REST_URL');
  const launcherUrl = required(vars, 'LOCAL_LAUNCHER_URL');
  const functionsPort = Number(vars.DEV_FUNCTIONS_PORT ?? '8787');
  const redis = hostPort(redisUrl, 'REDIS_URL');
  const standIn = hostPort(standInUrl, 'UPSTASH_REDIS_REST_URL');
  const launcher = hostPort(launcherUrl, 'LOCAL_LAUNCHER_URL');
  const rows: [string, string][] = [];

  if (await portAnswers(redis.host, redis.port)) {
    rows.push(['redis', `${redisUrl} (already running, reused)`]);
  } else {
    start('redis', 'redis-server', ['--port', String(redis.port), '--bind', redis.host, '--save', '', '--appendonly', 'no'], baseEnv);
    await waitUntilReady('redis-server', () => portAnswers(redis.host, redis.port));
    rows.push(['redis', `${redisUrl} (redis-server started here, in memory)`]);
  }

  start('stand-in', process.execPath, ['infra/local/upstash-rest/main.ts'], {
    ...baseEnv,
    UPSTASH_STANDIN_HOST: standIn.host,
    UPSTASH_STANDIN_PORT: String(standIn.port),
  });
  start('launcher', process.execPath, ['infra/local/launcher/main.ts'], {
    ...baseEnv,
    LOCAL_LAUNCHER_HOST: launcher.host,
    LOCAL_LAUNCHER_PORT: String(launcher.port),
  });
  start(
    'functions',
    process.execPath,
    [resolve(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'dev', '--ip', '127.0.0.1', '--port', String(functionsPort),
      '--env-file', file, '--test-scheduled', '--show-interactive-dev-session=false', '--log-level', 'info'],
    { ...baseEnv, WRANGLER_SEND_METRICS: 'false' },
  );
  await Promise.all([
    waitUntilReady('the Upstash REST stand-in', httpAnswers(`${standInUrl}/health`)),
    waitUntilReady('the local launcher', httpAnswers(`${launcherUrl}/health`)),
    waitUntilReady('the functions', httpAnswers(`http://127.0.0.1:${functionsPort}/health`)),
  ]);
  rows.push(
    ['upstash REST', `${standInUrl} (stand-in over redis)`],
    ['launcher', `${launcherUrl} (starts: ${vars.LOCAL_WORKER_COMMAND ?? 'node worker/main.ts'})`],
    ['functions', `http://127.0.0.1:${functionsPort} (wrangler dev; /health, /metrics, /v1/…; cron: /__scheduled)`],
    ['livekit', `${vars.LIVEKIT_URL ?? '(unset)'} (not started here: run livekit-server --dev, or docker compose)`],
    ['settings', file],
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nvoice agent control plane is up:\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`);
  console.log(JSON.stringify({ event: 'dev_stack_ready', functionsUrl: `http://127.0.0.1:${functionsPort}` }));
}

process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
main().catch((err: unknown) => {
  console.error(`npm run dev: ${err instanceof Error ? err.message : String(err)}`);
  void shutdown(1);
});
