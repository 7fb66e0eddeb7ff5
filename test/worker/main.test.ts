// worker/main.ts as ECS or the local launcher runs it: settings checked at start, the session fetched with its
// token from the real functions, providers built against fake vendors, and a join that fails reported as 'failed'.
// (Joining a real room needs a LiveKit server: see test/worker/transport/livekit.test.ts, which runs with LIVEKIT_URL.)
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../fakes/kit/server.ts';
import { startFakeDeepgram } from '../fakes/deepgram.ts';
import { startFakeElevenLabs } from '../fakes/elevenlabs.ts';
import { startFakeOpenAI } from '../fakes/openai.ts';
import { bootstrapWorker, operatorAuth, postWebhook, startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { REPO_ROOT } from '../support/local-launcher.ts';
import { waitFor } from '../support/wait.ts';

interface Run {
  code: number | null;
  output: string;
}

function runWorker(env: Record<string, string>, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['worker/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('worker start', () => {
  it('refuses to start without its settings, naming each missing variable', async () => {
    const run = await runWorker({ LOG_LEVEL: 'info' });
    expect(run.code).toBe(1);
    for (const name of ['ROOM', 'SESSION_ID', 'FUNCTIONS_URL', 'WORKER_BOOTSTRAP_TOKEN']) {
      expect(run.output).toContain(name);
    }
    // A launched worker holds no LiveKit API credentials: the functions mint its join token.
    for (const name of ['LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET', 'LIVEKIT_URL']) expect(run.output).not.toContain(name);
  });

  it('refuses a bad value, naming it', async () => {
    const run = await runWorker({ BARGE_IN_MIN_MS: 'soon', ROOM: 'r' });
    expect(run.code).toBe(1);
    expect(run.output).toContain('BARGE_IN_MIN_MS');
  });
});

describe('a launched worker whose room cannot be joined', () => {
  let cp: ControlPlane;
  const fakes: { close(): Promise<void> }[] = [];
  let providerEnv: Record<string, string>;

  beforeAll(async () => {
    cp = await startControlPlane({ STT_PROVIDERS: 'openai', TTS_PROVIDERS: 'openai' });
    const openai = await startFakeOpenAI();
    const deepgram = await startFakeDeepgram();
    const elevenlabs = await startFakeElevenLabs();
    fakes.push(openai, deepgram, elevenlabs);
    providerEnv = {
      OPENAI_API_KEY: 'sk-fake',
      OPENAI_BASE_URL: `${openai.url}/v1`,
      DEEPGRAM_API_KEY: 'dg-fake',
      DEEPGRAM_BASE_URL: deepgram.url,
      ELEVENLABS_API_KEY: 'el-fake',
      ELEVENLABS_BASE_URL: elevenlabs.url,
    };
  });
  afterAll(async () => {
    await Promise.allSettled(fakes.map((f) => f.close()));
    await cp?.close();
  });

  it('fetches its session with its token, then reports failed to the functions and exits 1', async () => {
    const body = webhookBody({ event: 'participant_joined', room: { name: 'main-room' }, participant: { identity: 'caller' } });
    const { sessionId } = (await (await postWebhook(cp.fn, body, await signWebhook(body))).json()) as { sessionId: string };
    const launched = await waitFor('the launch env', () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
    const run = await runWorker({
      ...providerEnv,
      ROOM: launched.env.ROOM ?? '',
      SESSION_ID: sessionId,
      WORKER_BOOTSTRAP_TOKEN: launched.env.WORKER_BOOTSTRAP_TOKEN ?? '',
      FUNCTIONS_URL: cp.fn.url,
      STT_PROVIDERS: 'deepgram,openai',
      LIVEKIT_URL: `ws://127.0.0.1:${await closedPort()}`,
      HEALTH_PORT: '0',
      LOG_LEVEL: 'info',
    });
    expect(run.code).toBe(1);
    // The settings came from the session fetched with the token, not from the environment fallback.
    expect(run.output).not.toContain('session_from_env');
    const session = await waitFor('the failed status', async () => {
      const res = await cp.fn.fetch(`/v1/sessions/${sessionId}`, { headers: operatorAuth });
      const json = (await res.json()) as { status: string; workerReason?: string };
      return json.status === 'failed' ? json : undefined;
    });
    expect(session.workerReason).toMatch(/could not join the room/);
    expect(run.output).not.toContain('sk-fake');
    expect(run.output).not.toContain(launched.env.WORKER_BOOTSTRAP_TOKEN);
  });

  it('without any provider key for a chain, reports failed saying which chain and exits 1', async () => {
    const body = webhookBody({ event: 'participant_joined', room: { name: 'keyless-room' }, participant: { identity: 'caller' } });
    const { sessionId } = (await (await postWebhook(cp.fn, body, await signWebhook(body))).json()) as { sessionId: string };
    const launched = await waitFor('the launch env', () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
    const { OPENAI_API_KEY: _dropped, ...withoutOpenAi } = providerEnv;
    const run = await runWorker({
      ...withoutOpenAi,
      ROOM: launched.env.ROOM ?? '',
      SESSION_ID: sessionId,
      WORKER_BOOTSTRAP_TOKEN: launched.env.WORKER_BOOTSTRAP_TOKEN ?? '',
      FUNCTIONS_URL: cp.fn.url,
      LIVEKIT_URL: `ws://127.0.0.1:${await closedPort()}`,
      HEALTH_PORT: '0',
    });
    expect(run.code).toBe(1);
    // The session's chains are stt=openai, llm=openai,anthropic,groq (no keys but OpenAI's), tts=openai.
    const session = await waitFor('the failed status', async () => {
      const res = await cp.fn.fetch(`/v1/sessions/${sessionId}`, { headers: operatorAuth });
      const json = (await res.json()) as { status: string; workerReason?: string };
      return json.status === 'failed' ? json : undefined;
    });
    expect(session.workerReason).toMatch(/no stt provider is configured/);
  });

  it('exits 1 without joining when its bootstrap credential was already used (a copied launch env buys nothing)', async () => {
    const body = webhookBody({ event: 'participant_joined', room: { name: 'reused-room' }, participant: { identity: 'caller' } });
    const { sessionId } = (await (await postWebhook(cp.fn, body, await signWebhook(body))).json()) as { sessionId: string };
    const launched = await waitFor('the launch env', () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
    await bootstrapWorker(cp.fn, launched.env); // someone else got there first
    const run = await runWorker({
      ...providerEnv,
      ROOM: launched.env.ROOM ?? '',
      SESSION_ID: sessionId,
      WORKER_BOOTSTRAP_TOKEN: launched.env.WORKER_BOOTSTRAP_TOKEN ?? '',
      FUNCTIONS_URL: cp.fn.url,
      HEALTH_PORT: '0',
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain('401');
    expect(run.output).not.toContain('joined the room');
  });
});
