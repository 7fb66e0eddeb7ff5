// `npm run dev` as a newcomer runs it, on free ports: the real dev script starts livekit-server, redis-server, the fake
// vendors (demo profile: no provider key anywhere), the stand-in, the launcher and `wrangler dev`. A caller takes a token
// from POST /v1/token, joins, and LiveKit's own webhook has the functions launch the real worker, which answers spoken
// words with audio; SIGTERM then takes everything down: no port left listening, no worker left running.
// A second stack, with one (dummy) provider key and a LiveKit server that was already running, uses the real-vendor
// profile, reuses that server and leaves it running when it stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient, TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { pickLiveKitPort } from '../../infra/local/livekit/server.ts';
import { readWavFile } from '../../worker/audio/wav-read.ts';
import { closedPort } from '../fakes/kit/server.ts';
import { Caller, MIC_RATE } from '../support/caller.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { startTestLiveKit, type LiveKitServer } from '../support/livekit-server.ts';
import { REPO_ROOT, RECORDING_WORKER_COMMAND } from '../support/local-launcher.ts';
import { waitFor } from '../support/wait.ts';
import { convertWav, speechWav } from './console-support.ts';

const APP_KEY = 'dev-app-key';
const LAUNCHER_TOKEN = 'dev-launcher-token-0123456789';
/** What the dev script must not inherit from this shell: the test decides the profile. */
const SHELL_VARIABLES_DROPPED = /^(OPENAI|ANTHROPIC|GROQ|DEEPGRAM|ELEVENLABS)_(API_KEY|BASE_URL)$|^LIVEKIT_|^FAKES_|^DEV_/;

const portOpen = (port: number) =>
  new Promise<boolean>((done) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), done(true)));
    s.once('error', () => done(false));
  });

const udpPortFree = (port: number) =>
  new Promise<boolean>((done) => {
    const s = createSocket('udp4');
    s.once('error', () => (s.close(), done(false)));
    s.bind(port, '127.0.0.1', () => s.close(() => done(true)));
  });

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((done) => s.bind(0, '127.0.0.1', done));
  const { port } = s.address();
  await new Promise<void>((done) => s.close(() => done()));
  return port;
}

/**
 * Consecutive free ports for the fakes (FAKES_BASE_PORT and the next ones), below Linux's ephemeral range (32768+),
 * where an outgoing connection could take one of them between this check and the dev script's own.
 */
async function freeRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const binds = await Promise.all(Array.from({ length: count }, (_, i) => tcpBinds(base + i)));
    if (binds.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function tcpBinds(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((done) => {
    probe.once('error', () => done(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Ports {
  redis: number;
  standIn: number;
  launcher: number;
  functions: number;
}

async function basePorts(): Promise<Ports> {
  return { redis: await closedPort(), standIn: await closedPort(), launcher: await closedPort(), functions: await closedPort() };
}

function envFileLines(ports: Ports, livekitUrl: string, extra: string[]): string {
  return [
    `LIVEKIT_URL=${livekitUrl}`,
    'LIVEKIT_API_KEY=devkey',
    'LIVEKIT_API_SECRET=secret',
    `APP_API_KEYS=${APP_KEY}`,
    `REDIS_URL=redis://127.0.0.1:${ports.redis}`,
    `UPSTASH_REDIS_REST_URL=http://127.0.0.1:${ports.standIn}`,
    'UPSTASH_REDIS_REST_TOKEN=dev-upstash-token',
    'LAUNCHER=local',
    `LOCAL_LAUNCHER_URL=http://127.0.0.1:${ports.launcher}`,
    `LOCAL_LAUNCHER_TOKEN=${LAUNCHER_TOKEN}`,
    `FUNCTIONS_PUBLIC_URL=http://127.0.0.1:${ports.functions}`,
    `DEV_FUNCTIONS_PORT=${ports.functions}`,
    'WORKER_TOKEN_SECRET=dev-worker-token-secret-not-for-production',
    ...extra,
  ].join('\n');
}

/** The dev script as `npm run dev` runs it, with this env file; resolves once it printed dev_stack_ready. */
async function startDev(envFile: string): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null>; ready: Record<string, unknown> }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SHELL_VARIABLES_DROPPED.test(name)));
  const child = spawn(process.execPath, ['scripts/dev.ts'], { cwd: REPO_ROOT, env: { ...env, DEV_ENV_FILE: envFile }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const line = await waitFor(
    'the dev stack to be ready',
    () => {
      if (child.exitCode !== null) throw new Error(`npm run dev exited early:\n${output.slice(-6_000)}`);
      return output.split('\n').find((l) => l.includes('"event":"dev_stack_ready"'));
    },
    150_000,
    200,
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return { child, output: () => output, exited, ready: JSON.parse(line) as Record<string, unknown> };
}

/** After a failed test: a polite stop first (a SIGKILL would orphan the services, each in its own process group). */
async function stopDev(dev: Awaited<ReturnType<typeof startDev>> | undefined): Promise<void> {
  if (!dev || dev.child.exitCode !== null || dev.child.signalCode !== null) return;
  dev.child.kill('SIGTERM');
  const timer = setTimeout(() => dev.child.kill('SIGKILL'), 40_000);
  await dev.exited;
  clearTimeout(timer);
}

async function launcherTasks(port: number): Promise<{ pid: number | null; state: string; room: string }[]> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/tasks`, { headers: { authorization: `Bearer ${LAUNCHER_TOKEN}` } });
  return ((await res.json()) as { tasks: { pid: number | null; state: string; room: string }[] }).tasks;
}

describe('npm run dev: the whole system, demo profile', () => {
  let dir: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let ports: Ports;
  let livekit: { http: number; tcp: number; udp: number };
  let fakesBase: number;
  let caller: Caller | undefined;
  let second: Caller | undefined;
  const workerPids = new Set<number>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dev-stack-'));
    ports = await basePorts();
    livekit = { http: await pickLiveKitPort(), tcp: await pickLiveKitPort(), udp: await freeUdpPort() };
    fakesBase = await freeRange(5);
    const envFile = join(dir, 'dev.vars');
    writeFileSync(
      envFile,
      envFileLines(ports, `ws://127.0.0.1:${livekit.http}`, [
        `DEV_LIVEKIT_TCP_PORT=${livekit.tcp}`,
        `DEV_LIVEKIT_UDP_PORT=${livekit.udp}`,
        `FAKES_BASE_PORT=${fakesBase}`,
        // No greeting: the only agent audio is then the answer to what the caller said.
        'GREETING=',
      ]),
    );
    dev = await startDev(envFile);
  }, 180_000);

  afterAll(async () => {
    await caller?.leave();
    await second?.leave();
    await stopDev(dev);
    for (const pid of workerPids) if (alive(pid)) process.kill(-pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('prints what runs where, under a clearly labelled demo profile', () => {
    const output = dev.output();
    expect(output).toContain('DEMO PROFILE: fake vendors on');
    expect(output).toContain(`127.0.0.1:${fakesBase}-${fakesBase + 4}`);
    expect(output).toContain('set real keys in .dev.vars');
    expect(output).toMatch(/livekit-server started here/);
    expect(output).toMatch(/redis-server started here/);
    expect(output).toContain(`http://127.0.0.1:${ports.functions}`);
    expect(output).not.toContain('dev-upstash-token');
    expect(dev.ready).toMatchObject({ event: 'dev_stack_ready', livekit: 'started', vendors: 'demo', livekitUrl: `ws://127.0.0.1:${livekit.http}` });
  });

  it('answers /health and issues tokens for the LiveKit server it started, which answers', async () => {
    expect((await fetch(`http://127.0.0.1:${ports.functions}/health`)).status).toBe(200);
    const res = await fetch(`http://127.0.0.1:${ports.functions}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${APP_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'dev-check', identity: 'dev-user' }),
    });
    expect(res.status).toBe(200);
    const { token, url } = (await res.json()) as { token: string; url: string };
    expect(url).toBe(`ws://127.0.0.1:${livekit.http}`);
    expect((await new TokenVerifier('devkey', 'secret').verify(token)).video?.room).toBe('dev-check');
    const rooms = new RoomServiceClient(`http://127.0.0.1:${livekit.http}`, 'devkey', 'secret');
    expect(Array.isArray(await rooms.listRooms())).toBe(true);
  });

  it('a caller who joins gets the agent, launched by LiveKit\'s own webhook, and hears it answer spoken words', async () => {
    onTestFailed(() => console.error(`dev output (tail):\n${dev.output().slice(-8_000)}`));
    const res = await fetch(`http://127.0.0.1:${ports.functions}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${APP_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'dev-demo', identity: 'dev-caller' }),
    });
    expect(res.status).toBe(200);
    const { token, url } = (await res.json()) as { token: string; url: string };
    const question = await convertWav(await speechWav(dir, 'question', [{ say: 'What is the weather like today' }]), join(dir, 'q48k.wav'), MIC_RATE, 1);
    const speech = (await readWavFile(question)).pcm;

    caller = new Caller('dev-caller');
    await caller.join(url, token);
    const agent = await caller.agent(90_000);
    await waitFor('the agent listening', () => caller!.agentState() === 'listening', 30_000);
    await waitFor('the agent subscribed to the microphone', () => caller!.heardByAgent, 30_000);
    for (const task of await launcherTasks(ports.launcher)) if (task.pid !== null && task.room === 'dev-demo') workerPids.add(task.pid);
    expect(workerPids.size).toBe(1);

    const spokeAt = await caller.say(speech);
    await waitFor('half a second of loud agent audio after the question', () => caller!.loudMsSince(spokeAt) >= 500, 60_000, 100);
    // The fake LLM's default answer, spoken by the agent and captioned.
    await waitFor('the agent\'s caption', () => caller!.captions.find((c) => c.identity === agent.identity && c.text.includes('You said')), 30_000, 100);
    expect(caller.agentsSeen).toEqual([agent.identity]);
  }, 240_000);

  it('runs a second room\'s worker at the same time (each worker on its own health port)', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.functions}/v1/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${APP_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'dev-second', identity: 'dev-caller-2' }),
    });
    const { token, url } = (await res.json()) as { token: string; url: string };
    second = new Caller('dev-caller-2');
    await second.join(url, token);
    await second.agent(90_000);
    await waitFor('the second agent listening', () => second!.agentState() === 'listening', 30_000);
    const running = (await launcherTasks(ports.launcher)).filter((t) => t.state === 'running');
    for (const task of running) if (task.pid !== null) workerPids.add(task.pid);
    expect(running.map((t) => t.room).sort()).toEqual(['dev-demo', 'dev-second']);
    expect(second.agentsSeen).toHaveLength(1);
  }, 150_000);

  it('stops everything it started on SIGTERM: nothing listens, no worker is left', async () => {
    expect(workerPids.size).toBe(2);
    dev.child.kill('SIGTERM');
    const code = await Promise.race([dev.exited, new Promise<string>((done) => setTimeout(() => done('still running after 60 s'), 60_000))]);
    expect(code, dev.output().slice(-4_000)).toBe(0);
    const tcp = [...Object.values(ports), livekit.http, livekit.tcp, ...[0, 1, 2, 3, 4].map((i) => fakesBase + i)];
    for (const port of tcp) expect(await portOpen(port), `port ${port}`).toBe(false);
    expect(await udpPortFree(livekit.udp)).toBe(true);
    for (const pid of workerPids) expect(alive(pid), `worker ${pid}`).toBe(false);
  }, 90_000);
});

describe('npm run dev: with a provider key and a LiveKit server already running', () => {
  let dir: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let ports: Ports;
  let server: LiveKitServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dev-stack-real-'));
    ports = await basePorts();
    server = await startTestLiveKit({ webhookUrls: [`http://127.0.0.1:${ports.functions}/v1/webhooks/livekit`] });
    writeFileSync(
      join(dir, 'dev.vars'),
      envFileLines(ports, server.url, [
        'DEEPGRAM_API_KEY=dg-dummy-key',
        `LOCAL_WORKER_COMMAND=${RECORDING_WORKER_COMMAND}`,
        `FIXTURE_OUT_DIR=${dir}`,
        // The launcher passes workers only allow-listed variables; the recording worker needs this one too.
        'LOCAL_LAUNCHER_WORKER_ENV=FIXTURE_OUT_DIR',
      ]),
    );
    dev = await startDev(join(dir, 'dev.vars'));
  }, 180_000);

  afterAll(async () => {
    await stopDev(dev);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('reuses the running server and names the providers that have keys, with no fakes', () => {
    const output = dev.output();
    expect(output).toContain('already running, reused');
    expect(output).toContain('REAL VENDORS: keys set for deepgram');
    expect(output).not.toContain('DEMO PROFILE');
    expect(output).not.toContain('dg-dummy-key');
    expect(dev.ready).toMatchObject({ livekit: 'reused', vendors: 'real' });
  });

  it('launches a worker for a signed webhook with LiveKit\'s URL, the provider key and a free health port, and no fake vendor', async () => {
    const body = webhookBody({ event: 'participant_joined', room: { name: 'dev-room' }, participant: { identity: 'dev-user' } });
    const hook = await fetch(`http://127.0.0.1:${ports.functions}/v1/webhooks/livekit`, {
      method: 'POST',
      headers: { authorization: await signWebhook(body), 'content-type': 'application/webhook+json' },
      body,
    });
    expect(hook.status).toBe(200);
    const file = await waitFor('the launched worker to record its env', () => readdirSync(dir).find((f) => /^\d+\.json$/.test(f)), 30_000);
    const { env } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { env: Record<string, string> };
    expect(env).toMatchObject({ ROOM: 'dev-room', HEALTH_PORT: '0', LIVEKIT_URL: server.url, DEEPGRAM_API_KEY: 'dg-dummy-key' });
    expect(env['OPENAI_BASE_URL']).toBeUndefined();
  }, 60_000);

  it('stops what it started on SIGTERM and leaves the server it reused running', async () => {
    dev.child.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
    for (const port of Object.values(ports)) expect(await portOpen(port), `port ${port}`).toBe(false);
    expect(await portOpen(server.ports.http)).toBe(true);
    expect(readdirSync(dir).some((f) => f.endsWith('.stopped'))).toBe(true);
  }, 90_000);
});
