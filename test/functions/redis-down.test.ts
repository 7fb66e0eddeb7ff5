// The control plane with Redis gone (redis-server stopped behind the Upstash stand-in): callers still get an agent,
// with the configured provider order, nothing hangs, LiveKit is told to retry what cannot wait, and all is well
// again once Redis is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBootstrapToken } from '../../functions/sessions/worker-token.ts';
import {
  bootstrapWorker,
  postWebhook,
  postWorkerStatus,
  recordedWorkerEnv,
  sessionFields,
  sessionIdOfRoom,
  startControlPlane,
  type ControlPlane,
} from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { sleep, waitFor } from '../support/wait.ts';

// Not the defaults, so the worker's env shows it got the configured (static) order and not some built-in one.
const STATIC_ORDER = { STT_PROVIDERS: 'openai,deepgram', LLM_PROVIDERS: 'groq,anthropic,openai', TTS_PROVIDERS: 'openai,elevenlabs' };

let cp: ControlPlane;
let statelessEnv: Record<string, string> = {};
let statelessToken = '';

beforeAll(async () => {
  cp = await startControlPlane({ ...STATIC_ORDER, SYSTEM_PROMPT: 'You are the outage agent.', GREETING: 'Hello from the outage.' });
});
afterAll(async () => {
  await cp?.close();
});

async function deliver(body: string): Promise<Response> {
  return postWebhook(cp.fn, body, await signWebhook(body));
}

const runningFor = async (room: string) => (await cp.launcher.tasks()).filter((t) => t.room === room && t.state === 'running');

async function redisAnswers(): Promise<boolean> {
  try {
    return (await cp.redis.ping()) === 'PONG';
  } catch {
    return false;
  }
}

describe('while Redis is down', () => {
  beforeAll(async () => {
    await cp.stack.stopRedis();
    expect(await redisAnswers()).toBe(false);
  });
  afterAll(async () => {
    await cp.stack.startRedis();
  });

  it('still launches one worker for a room, with the configured provider order', async () => {
    const room = 'rd-stateless';
    const body = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: 'rd-caller' } });
    const res = await deliver(body);
    expect(res.status).toBe(200);
    const json = (await res.json()) as { action: string; sessionId: string };
    expect(json.action).toBe('launching_without_state');

    const [task] = await waitFor(`a worker for ${room}`, async () => {
      const tasks = await runningFor(room);
      return tasks.length === 1 ? tasks : undefined;
    });
    const env = await waitFor('the worker env', () => recordedWorkerEnv(cp, task?.pid ?? null));
    expect(env).toMatchObject({ ROOM: room, SESSION_ID: json.sessionId, ...STATIC_ORDER });
    const claims = await verifyBootstrapToken(env.WORKER_BOOTSTRAP_TOKEN ?? '', 'test-worker-token-secret-of-enough-length');
    expect(claims).toMatchObject({ sessionId: json.sessionId, room, stateless: true });
    statelessEnv = env;

    // The worker still gets its room token and the configured prompt and greeting, not its own built-in ones.
    const boot = await bootstrapWorker(cp.fn, env);
    expect(boot.session).toMatchObject({ systemPrompt: 'You are the outage agent.', greeting: 'Hello from the outage.' });
    expect(boot.livekit.identity).toBe(`agent-${json.sessionId}`);
    statelessToken = boot.workerToken;

    // Without Redis there is no deduplication and no claim: the launcher's idempotency key keeps it to one worker.
    const again = await deliver(body);
    expect(((await again.json()) as { action: string }).action).toBe('launching_without_state');
    await sleep(300);
    expect(await runningFor(room)).toHaveLength(1);
  });

  it('answers room_finished with 503, so LiveKit retries it', async () => {
    const res = await deliver(webhookBody({ event: 'room_finished', room: { name: 'rd-stateless' } }));
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error?: { code?: string } };
    expect(body.error?.code).toBe('unavailable');
  });
});

describe('after Redis is back', () => {
  beforeAll(async () => {
    await cp.stack.startRedis();
    await waitFor('Redis to answer through the stand-in', redisAnswers);
  });

  it('adopts the session launched during the outage when its worker calls, instead of orphaning it', async () => {
    const sessionId = statelessEnv.SESSION_ID ?? '';
    const res = await postWorkerStatus(cp.fn, statelessToken, { status: 'joined' });
    expect(res.status).toBe(200);
    const fields = await sessionFields(cp.redis, sessionId);
    expect(fields).toMatchObject({ room: 'rd-stateless', status: 'joined', systemPrompt: 'You are the outage agent.' });
    expect(await sessionIdOfRoom(cp.redis, 'rd-stateless')).toBe(sessionId);
    expect(await cp.redis.zscore('sessions:active', sessionId)).not.toBeNull();
    // The caller's next join finds the adopted session: no second worker.
    const again = await deliver(webhookBody({ event: 'participant_joined', room: { name: 'rd-stateless' }, participant: { identity: 'rd-2' } }));
    expect(((await again.json()) as { action: string; sessionId: string }).sessionId).toBe(sessionId);
    await sleep(300);
    expect(await runningFor('rd-stateless')).toHaveLength(1);
  });

  it('launches a new room with its session in Redis again', async () => {
    const room = 'rd-recovered';
    const res = await deliver(webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: 'rita' } }));
    expect(res.status).toBe(200);
    const json = (await res.json()) as { action: string; sessionId: string };
    expect(json.action).toBe('launching');
    expect(await sessionIdOfRoom(cp.redis, room)).toBe(json.sessionId);

    const fields = await waitFor('status launched', async () => {
      const f = await sessionFields(cp.redis, json.sessionId);
      return f?.status === 'launched' ? f : undefined;
    });
    const [task] = await runningFor(room);
    expect(fields.taskId).toBe(task?.taskId);
    expect(await cp.redis.zscore('sessions:active', json.sessionId)).not.toBeNull();
    const env = await waitFor('the worker env', () => recordedWorkerEnv(cp, task?.pid ?? null));
    expect(env).toMatchObject({ ROOM: room, SESSION_ID: json.sessionId });
  });

  it('ends a room with room_finished again', async () => {
    const room = 'rd-recovered-finish';
    const opened = (await (await deliver(webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: 'rf' } }))).json()) as { sessionId: string };
    await waitFor('status launched', async () => (await sessionFields(cp.redis, opened.sessionId))?.status === 'launched');
    const res = await deliver(webhookBody({ event: 'room_finished', room: { name: room } }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { action: string }).action).toBe('ended');
    expect(await sessionFields(cp.redis, opened.sessionId)).toMatchObject({ status: 'ended', endReason: 'room_finished' });
    await waitFor(`no worker running for ${room}`, async () => (await runningFor(room)).length === 0);
  });
});
