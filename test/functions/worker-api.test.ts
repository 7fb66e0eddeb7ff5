// The worker-facing API inside workerd, called with the token a launched worker actually received; metrics posted
// there end up in the health scores and change the order the next worker is given.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFieldMap } from '../../functions/redis/hash.ts';
import { mintWorkerToken } from '../../functions/sessions/worker-token.ts';
import { postWebhook, startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';

const SECRET = 'test-worker-token-secret-of-enough-length';
let cp: ControlPlane;

async function launch(room: string): Promise<{ sessionId: string; token: string; env: Record<string, string> }> {
  const body = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: `caller-${room}` } });
  const res = await postWebhook(cp.fn, body, await signWebhook(body));
  const { sessionId } = (await res.json()) as { sessionId: string };
  const recorded = await waitFor(`the worker for ${room}`, () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
  return { sessionId, token: recorded.env.WORKER_TOKEN ?? '', env: recorded.env };
}

const call = (token: string, path: string, body?: unknown) =>
  cp.fn.fetch(`/v1/worker${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

beforeAll(async () => {
  cp = await startControlPlane({ HISTORY_MAX_MESSAGES: '5', SYSTEM_PROMPT: 'You are the test agent.', GREETING: 'Hello there!' });
});
afterAll(async () => {
  await cp?.close();
});

describe('worker authentication', () => {
  it('refuses a missing, forged, expired or foreign token', async () => {
    const { sessionId } = await launch('auth-room');
    expect((await cp.fn.fetch('/v1/worker/session')).status).toBe(401);
    const forged = await mintWorkerToken({ sessionId, room: 'auth-room' }, 'another-secret-that-is-long-enough-0000', 600, Date.now());
    expect((await call(forged, '/session')).status).toBe(401);
    const expired = await mintWorkerToken({ sessionId, room: 'auth-room' }, SECRET, 300, Date.now() - 3_600_000);
    expect((await call(expired, '/session')).status).toBe(401);
    const otherRoom = await mintWorkerToken({ sessionId, room: 'not-this-room' }, SECRET, 600, Date.now());
    expect((await call(otherRoom, '/session')).status).toBe(404);
    const unknown = await mintWorkerToken({ sessionId: 'sess_unknown', room: 'auth-room' }, SECRET, 600, Date.now());
    expect((await call(unknown, '/session')).status).toBe(404);
  });
});

describe('session, history and status', () => {
  it('serves the session settings to its worker', async () => {
    const { sessionId, token } = await launch('talk-room');
    const res = await call(token, '/session');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      sessionId,
      room: 'talk-room',
      providers: { stt: ['deepgram', 'openai'], llm: ['openai', 'anthropic', 'groq'], tts: ['elevenlabs', 'openai'] },
      systemPrompt: 'You are the test agent.',
      greeting: 'Hello there!',
      history: [],
    });
  });

  it('keeps the last N history messages in order', async () => {
    const { token } = await launch('history-room');
    for (let i = 1; i <= 4; i++) {
      const res = await call(token, '/history', {
        messages: [
          { role: 'user', text: `question ${i}` },
          { role: 'assistant', text: `answer ${i}`, interrupted: i === 4 },
        ],
      });
      expect(res.status).toBe(200);
    }
    const { history } = (await (await call(token, '/session')).json()) as { history: { role: string; text: string; interrupted?: boolean }[] };
    expect(history.map((m) => m.text)).toEqual(['answer 2', 'question 3', 'answer 3', 'question 4', 'answer 4']);
    expect(history.at(-1)?.interrupted).toBe(true);
  });

  it('moves the session through joined and active, and refuses reports after it ended', async () => {
    const { sessionId, token } = await launch('status-room');
    expect((await call(token, '/status', { status: 'joined' })).status).toBe(200);
    let session = toFieldMap(await cp.redis.hgetall(`session:${sessionId}`));
    expect(session?.status).toBe('joined');
    expect(Number(session?.joinedAtMs)).toBeGreaterThan(0);
    expect((await call(token, '/status', { status: 'active' })).status).toBe(200);
    // A 'joined' that arrives late does not take an active session back.
    expect((await call(token, '/status', { status: 'joined' })).status).toBe(200);
    expect(toFieldMap(await cp.redis.hgetall(`session:${sessionId}`))?.status).toBe('active');
    expect((await call(token, '/status', { status: 'ended', reason: 'caller left' })).status).toBe(200);
    session = toFieldMap(await cp.redis.hgetall(`session:${sessionId}`));
    expect(session).toMatchObject({ status: 'ended', endReason: 'worker_ended', workerReason: 'caller left' });
    expect(await cp.redis.zscore('sessions:active', sessionId)).toBeNull();
    const late = await call(token, '/status', { status: 'joined' });
    expect(late.status).toBe(409);
  });

  it.each([
    ['/history', { messages: [] }, 'messages'],
    ['/history', { messages: [{ role: 'system', text: 'x' }] }, 'role'],
    ['/status', { status: 'sleeping' }, 'status'],
    ['/metrics', { outcomes: [{ modality: 'llm', provider: 'openai', ok: false, durationMs: 5 }] }, 'errorClass'],
    ['/metrics', { outcomes: [{ modality: 'tts', provider: 'deepgram', ok: true, durationMs: 5 }] }, 'provider'],
    ['/metrics', { outcomes: [{ modality: 'llm', provider: 'openai', ok: true, durationMs: -1 }] }, 'durationMs'],
  ])('rejects a bad %s body with a 400 naming the field', async (path, body, field) => {
    const { token } = await launch(`bad-${path.slice(1)}-${field}`);
    const res = await call(token, path, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(field);
  });
});

describe('metrics into health scores', () => {
  it('folds outcomes into the provider table and demotes a failing provider for the next launch', async () => {
    const { token } = await launch('metrics-room');
    const failures = Array.from({ length: 6 }, () => ({ modality: 'llm', provider: 'openai', ok: false, errorClass: 'transient', durationMs: 40 }));
    const successes = Array.from({ length: 3 }, (_, i) => ({ modality: 'llm', provider: 'anthropic', ok: true, ttfbMs: 300 + i * 10, durationMs: 900, tokens: 42 }));
    const res = await call(token, '/metrics', {
      outcomes: [...failures, ...successes],
      turns: [{ turn: 1, endToEndMs: 820, llmTtftMs: 310, ttsTtfbMs: 150, failovers: 1, providers: { llm: 'anthropic' } }],
      droppedRecords: 2,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, outcomes: 9, turns: 1 });

    const providers = await cp.fn.fetch('/v1/providers', { headers: { authorization: 'Bearer test-app-key-1' } });
    expect(providers.status).toBe(200);
    const table = (await providers.json()) as {
      ranking: { order: { llm: string[] } };
      providers: { id: string; successes: number; failures: number; circuit: string; latencyEwmaMs: number | null }[];
    };
    const openai = table.providers.find((p) => p.id === 'llm:openai');
    const anthropic = table.providers.find((p) => p.id === 'llm:anthropic');
    expect(openai).toMatchObject({ failures: 6, successes: 0, circuit: 'open' });
    expect(anthropic?.successes).toBe(3);
    expect(anthropic?.latencyEwmaMs).toBeGreaterThan(299);
    expect(table.ranking.order.llm).toEqual(['anthropic', 'groq', 'openai']);

    const next = await launch('after-metrics-room');
    expect(next.env.LLM_PROVIDERS).toBe('anthropic,groq,openai');

    const metrics = await (await cp.fn.fetch('/metrics')).text();
    expect(metrics).toContain('voice_provider_requests_total{modality="llm",outcome="failure",provider="openai"} 6');
    expect(metrics).toMatch(/voice_turn_end_to_end_ms_bucket\{le="1000"\} 1/);
    expect(metrics).toMatch(/voice_worker_dropped_records_total 2/);
  });

  it('requires an application key for the provider table', async () => {
    expect((await cp.fn.fetch('/v1/providers')).status).toBe(401);
  });
});

describe('session state for operators', () => {
  it('lists live sessions with their launch state and shows one by id', async () => {
    const { sessionId } = await launch('visible-room');
    const auth = { headers: { authorization: 'Bearer test-app-key-2' } };
    expect((await cp.fn.fetch('/v1/sessions')).status).toBe(401);
    const one = await waitFor('the launch to be recorded', async () => {
      const res = await cp.fn.fetch(`/v1/sessions/${sessionId}`, auth);
      const body = (await res.json()) as Record<string, unknown>;
      return body.status === 'launched' ? body : undefined;
    });
    expect(one).toMatchObject({ id: sessionId, room: 'visible-room', launcher: 'local', launchAttempts: 1, launchGeneration: 1 });
    expect(one.taskId).toEqual(expect.any(String));
    expect(one).not.toHaveProperty('systemPrompt');
    const list = (await (await cp.fn.fetch('/v1/sessions', auth)).json()) as { sessions: { id: string }[] };
    expect(list.sessions.map((s) => s.id)).toContain(sessionId);
    expect((await cp.fn.fetch('/v1/sessions/sess_nope', auth)).status).toBe(404);
  });
});
