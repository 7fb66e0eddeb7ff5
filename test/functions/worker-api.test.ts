// The worker-facing API inside workerd, called with the token a launched worker actually received; metrics posted
// there end up in the health scores and change the order the next worker is given.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFieldMap } from '../../functions/redis/hash.ts';
import { TokenVerifier } from 'livekit-server-sdk';
import { mintWorkerToken } from '../../functions/sessions/worker-token.ts';
import { bootstrapWorker, operatorAuth, postWebhook, startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';

const SECRET = 'test-worker-token-secret-of-enough-length';
let cp: ControlPlane;

async function launch(room: string): Promise<{ sessionId: string; token: string; env: Record<string, string> }> {
  const body = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: `caller-${room}` } });
  const res = await postWebhook(cp.fn, body, await signWebhook(body));
  const { sessionId } = (await res.json()) as { sessionId: string };
  const recorded = await waitFor(`the worker for ${room}`, () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
  const boot = await bootstrapWorker(cp.fn, recorded.env);
  return { sessionId, token: boot.workerToken, env: recorded.env };
}

const claimsFor = (sessionId: string, room: string, generation = 1) => ({
  sessionId,
  room,
  roomKey: `RM_${room}`,
  generation,
  stateless: false,
});

const call = (token: string, path: string, body?: unknown) =>
  cp.fn.fetch(`/v1/worker${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

beforeAll(async () => {
  cp = await startControlPlane({
    HISTORY_MAX_MESSAGES: '5',
    SYSTEM_PROMPT: 'You are the test agent.',
    GREETING: 'Hello there!',
    WORKER_RATE_LIMIT_PER_MINUTE: '40',
    AGENT_IDENTITY_PREFIX: 'bot-',
  });
});
afterAll(async () => {
  await cp?.close();
});

describe('worker authentication', () => {
  it('refuses a missing, forged, expired or foreign token', async () => {
    const { sessionId } = await launch('auth-room');
    expect((await cp.fn.fetch('/v1/worker/session')).status).toBe(401);
    const forged = await mintWorkerToken(claimsFor(sessionId, 'auth-room'), 'another-secret-that-is-long-enough-0000', 600, Date.now());
    expect((await call(forged, '/session')).status).toBe(401);
    const expired = await mintWorkerToken(claimsFor(sessionId, 'auth-room'), SECRET, 300, Date.now() - 3_600_000);
    expect((await call(expired, '/session')).status).toBe(401);
    const otherRoom = await mintWorkerToken(claimsFor(sessionId, 'not-this-room'), SECRET, 600, Date.now());
    expect((await call(otherRoom, '/session')).status).toBe(404);
    const unknown = await mintWorkerToken(claimsFor('sess_unknown', 'auth-room'), SECRET, 600, Date.now());
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
    const { token: second } = await launch('metrics-room-2');
    const failures = Array.from({ length: 3 }, () => ({ modality: 'llm', provider: 'openai', ok: false, errorClass: 'transient', durationMs: 40 }));
    const successes = Array.from({ length: 3 }, (_, i) => ({ modality: 'llm', provider: 'anthropic', ok: true, ttfbMs: 300 + i * 10, durationMs: 900, tokens: 42 }));
    const res = await call(token, '/metrics', {
      outcomes: [...failures, ...failures, ...successes],
      turns: [{ turn: 1, endToEndMs: 820, llmTtftMs: 310, ttsTtfbMs: 150, failovers: 1, providers: { llm: 'anthropic' } }],
      droppedRecords: 2,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, outcomes: 7, outcomesDropped: 2, turns: 1 });
    // A second session sees openai fail too: two workers' evidence, not one, opens its circuit.
    expect((await call(second, '/metrics', { outcomes: failures })).status).toBe(200);

    const providers = await cp.fn.fetch('/v1/providers', { headers: operatorAuth });
    expect(providers.status).toBe(200);
    const table = (await providers.json()) as {
      ranking: { order: { llm: string[] } };
      providers: { id: string; successes: number; failures: number; circuit: string; latencyEwmaMs: number | null }[];
    };
    const openai = table.providers.find((p) => p.id === 'llm:openai');
    const anthropic = table.providers.find((p) => p.id === 'llm:anthropic');
    expect(openai).toMatchObject({ failures: 7, successes: 0, circuit: 'open' });
    expect(anthropic?.successes).toBe(3);
    expect(anthropic?.latencyEwmaMs).toBeGreaterThan(299);
    expect(table.ranking.order.llm).toEqual(['anthropic', 'groq', 'openai']);

    const next = await launch('after-metrics-room');
    expect(next.env.LLM_PROVIDERS).toBe('anthropic,groq,openai');

    const metrics = await (await cp.fn.fetch('/metrics')).text();
    expect(metrics).toContain('voice_provider_requests_total{modality="llm",outcome="failure",provider="openai"} 7');
    expect(metrics).toMatch(/voice_worker_outcomes_over_batch_bound_total 2/);
    expect(metrics).toMatch(/voice_turn_end_to_end_ms_bucket\{le="1000"\} 1/);
    expect(metrics).toMatch(/voice_worker_dropped_records_total 2/);
  });

  it('requires an operator key for the provider table: none is 401, a client key 403', async () => {
    expect((await cp.fn.fetch('/v1/providers')).status).toBe(401);
    expect((await cp.fn.fetch('/v1/providers', { headers: { authorization: 'Bearer test-app-key-1' } })).status).toBe(403);
  });
});

describe('session state for operators', () => {
  it('lists live sessions with their launch state and shows one by id', async () => {
    const { sessionId } = await launch('visible-room');
    const auth = { headers: operatorAuth };
    expect((await cp.fn.fetch('/v1/sessions')).status).toBe(401);
    expect((await cp.fn.fetch('/v1/sessions', { headers: { authorization: 'Bearer test-app-key-2' } })).status).toBe(403);
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

  it('reads the records of a dozen live sessions in one pipelined request, not one request each', async () => {
    const rooms = Array.from({ length: 12 }, (_, i) => `listed-room-${i}`);
    const ids = await Promise.all(rooms.map(async (room) => (await launch(room)).sessionId));
    const auth = { headers: operatorAuth };
    await waitFor('every launch to be recorded', async () => {
      const bodies = await Promise.all(ids.map(async (id) => (await (await cp.fn.fetch(`/v1/sessions/${id}`, auth)).json()) as { status?: string }));
      return bodies.every((b) => b.status === 'launched');
    });

    const before = cp.stack.restPaths().length;
    const res = await cp.fn.fetch('/v1/sessions', auth);
    const during = cp.stack.restPaths().slice(before);
    expect(res.status).toBe(200);
    const listed = ((await res.json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id);
    expect(listed).toEqual(expect.arrayContaining(ids));
    // The index read and one pipeline for every record (one request each would be 12 or more singles).
    expect(during.filter((p) => p === '/pipeline')).toHaveLength(1);
    expect(during.filter((p) => p === '/').length).toBeLessThanOrEqual(2);
  });
});

describe('least privilege for workers', () => {
  it('launches with a single-use bootstrap credential only: no session token, no LiveKit secret', async () => {
    const body = webhookBody({ event: 'participant_joined', room: { name: 'boot-room' }, participant: { identity: 'caller-boot' } });
    const { sessionId } = (await (await postWebhook(cp.fn, body, await signWebhook(body))).json()) as { sessionId: string };
    const { env } = await waitFor('the worker', () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
    expect(env.WORKER_TOKEN).toBeUndefined();
    expect(env.LIVEKIT_API_SECRET).toBeUndefined();
    expect(env.LIVEKIT_API_KEY).toBeUndefined();
    expect(Object.values(env)).not.toContain('secret');
    // The bootstrap credential is not a session token.
    expect((await call(env.WORKER_BOOTSTRAP_TOKEN ?? '', '/session')).status).toBe(401);

    const boot = await bootstrapWorker(cp.fn, env);
    expect(boot.session).toMatchObject({ sessionId, room: 'boot-room', systemPrompt: 'You are the test agent.', greeting: 'Hello there!' });
    // Exchanged once: the same credential a second time (a copy lifted from the task's overrides) buys nothing.
    await expect(bootstrapWorker(cp.fn, env)).rejects.toThrow(/401/);

    // The room token: this room only, kind agent, the configured identity prefix, minutes not hours.
    const grants = await new TokenVerifier('devkey', 'secret').verify(boot.livekit.token);
    expect(grants.sub).toBe(`bot-${sessionId}`);
    expect(boot.livekit.identity).toBe(`bot-${sessionId}`);
    expect(grants.kind).toBe('agent');
    expect(grants.video).toMatchObject({ room: 'boot-room', roomJoin: true, canPublish: true, canSubscribe: true, canPublishSources: ['microphone'] });
    expect(grants.video?.roomAdmin).toBeFalsy();
    expect((grants.exp ?? 0) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(600);

    // Refreshed through the worker API with the session token.
    const fresh = await call(boot.workerToken, '/livekit-token');
    expect(fresh.status).toBe(200);
    const refreshed = (await fresh.json()) as { token: string; identity: string };
    expect(refreshed.identity).toBe(`bot-${sessionId}`);
    expect((await new TokenVerifier('devkey', 'secret').verify(refreshed.token)).video?.room).toBe('boot-room');
  });

  it("refuses another session's token: a worker reports only for its own session", async () => {
    const a = await launch('own-room-a');
    const b = await launch('own-room-b');
    // A token for session b naming room a (a forged mix) is not b's session.
    const mixed = await mintWorkerToken(claimsFor(b.sessionId, 'own-room-a'), 'another-secret-that-is-long-enough-0000', 600, Date.now());
    expect((await call(mixed, '/status', { status: 'failed' })).status).toBe(401);
    expect((await call(a.token, '/status', { status: 'joined' })).status).toBe(200);
    expect(toFieldMap(await cp.redis.hgetall(`session:${b.sessionId}`))?.status).not.toBe('joined');
  });

  it('stops honouring a session token once a newer generation takes over, and the old worker cannot end the session', async () => {
    const { sessionId, token } = await launch('gen-room');
    expect((await call(token, '/status', { status: 'joined' })).status).toBe(200);
    // The reconcile sweep (or anything else) moved the session to generation 2.
    await cp.redis.hset(`session:${sessionId}`, { launchGeneration: '2' });
    const ended = await call(token, '/status', { status: 'ended', reason: 'sigterm' });
    expect(ended.status).toBe(409);
    expect(((await ended.json()) as { error: { code: string } }).error.code).toBe('superseded');
    expect((await call(token, '/history', { messages: [{ role: 'user', text: 'hi' }] })).status).toBe(409);
    const fields = toFieldMap(await cp.redis.hgetall(`session:${sessionId}`));
    expect(fields?.status).toBe('joined');
    expect(await cp.redis.zscore('sessions:active', sessionId)).not.toBeNull();
  });

  it('stops honouring a session token once the session ended', async () => {
    const { token } = await launch('ended-token-room');
    expect((await call(token, '/status', { status: 'ended', reason: 'idle' })).status).toBe(200);
    expect((await call(token, '/session')).status).toBe(409);
    expect((await call(token, '/livekit-token')).status).toBe(409);
    expect((await call(token, '/metrics', { outcomes: [] })).status).toBe(409);
  });

  it('bounds one session: a flood of calls gets 429 with retry-after', async () => {
    const { token } = await launch('flood-room');
    // The window is the wall-clock minute: start well inside one so it cannot roll over mid-flood.
    while (Date.now() % 60_000 > 45_000) await new Promise((r) => setTimeout(r, 500));
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await call(token, '/metrics', { outcomes: [] })).status);
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    const limited = await call(token, '/metrics', { outcomes: [] });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('one worker cannot open a circuit for everybody, in one batch or in many', async () => {
    const { token } = await launch('one-bad-worker-room');
    const failures = Array.from({ length: 50 }, () => ({ modality: 'tts', provider: 'openai', ok: false, errorClass: 'permanent', durationMs: 5 }));
    const res = await call(token, '/metrics', { outcomes: failures });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ outcomes: 4, outcomesDropped: 46 });
    const table = (await (await cp.fn.fetch('/v1/providers', { headers: operatorAuth })).json()) as { providers: { id: string; circuit: string; failures: number }[] };
    expect(table.providers.find((p) => p.id === 'tts:openai')).toMatchObject({ circuit: 'closed', failures: 4 });
    // Batch after batch from the same session: still its evidence alone.
    for (let i = 0; i < 3; i++) expect((await call(token, '/metrics', { outcomes: failures })).status).toBe(200);
    const again = (await (await cp.fn.fetch('/v1/providers', { headers: operatorAuth })).json()) as { providers: { id: string; circuit: string; failures: number }[] };
    expect(again.providers.find((p) => p.id === 'tts:openai')).toMatchObject({ circuit: 'closed', failures: 16 });
    // A second session's failure joins the run: now two workers agree, and the circuit opens.
    const other = await launch('second-bad-worker-room');
    expect((await call(other.token, '/metrics', { outcomes: failures.slice(0, 1) })).status).toBe(200);
    const opened = (await (await cp.fn.fetch('/v1/providers', { headers: operatorAuth })).json()) as { providers: { id: string; circuit: string }[] };
    expect(opened.providers.find((p) => p.id === 'tts:openai')?.circuit).toBe('open');
  });
});
