// The worker's control-plane client against the real functions in workerd over real HTTP, with real Redis behind the
// Upstash stand-in, using the token a launched worker actually received. Failure classes are checked against the
// real functions where they can produce them, and against small local servers for the rest (429, 500, stalls).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintWorkerToken } from '../../functions/sessions/worker-token.ts';
import { ControlPlaneError, createControlPlaneClient, type ControlPlaneClient } from '../../worker/control-plane/client.ts';
import { silentLogger } from '../../worker/control-plane/logger.ts';
import { createStatusOutbox } from '../../worker/control-plane/status-outbox.ts';
import { postWebhook, sessionFields, startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';
import { closedPort } from '../fakes/kit/server.ts';

const WORKER_TOKEN_SECRET = 'test-worker-token-secret-of-enough-length';
let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane({ SYSTEM_PROMPT: 'You are the client test agent.', GREETING: 'Hi from the test.' });
});
afterAll(async () => {
  await cp?.close();
});

/** Starts a session for `room` through a signed webhook; returns what the launched stand-in worker received. */
async function launch(room: string): Promise<{ sessionId: string; env: Record<string, string> }> {
  const body = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: `caller-${room}` } });
  const res = await postWebhook(cp.fn, body, await signWebhook(body));
  expect(res.status).toBe(200);
  const { sessionId } = (await res.json()) as { sessionId: string };
  const recorded = await waitFor(`the worker for ${room}`, () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
  // As worker/main.ts does: the launch's single-use credential buys the session token every later call carries.
  const boot = await createControlPlaneClient({ functionsUrl: cp.fn.url }).bootstrap(recorded.env.WORKER_BOOTSTRAP_TOKEN ?? '');
  return { sessionId, env: { ...recorded.env, WORKER_TOKEN: boot.workerToken } };
}

function clientFor(env: Record<string, string>, timeoutMs?: number): ControlPlaneClient {
  return createControlPlaneClient({ functionsUrl: cp.fn.url, workerToken: env.WORKER_TOKEN ?? '', ...(timeoutMs ? { timeoutMs } : {}) });
}

async function failure(call: Promise<unknown>): Promise<ControlPlaneError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ControlPlaneError);
  return err as ControlPlaneError;
}

async function redisAnswers(): Promise<boolean> {
  try {
    return (await cp.redis.ping()) === 'PONG';
  } catch {
    return false;
  }
}

async function providerTable(): Promise<{ id: string; successes: number; failures: number }[]> {
  const res = await cp.fn.fetch('/v1/providers', { headers: { authorization: 'Bearer test-operator-key-0001' } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { providers: { id: string; successes: number; failures: number }[] }).providers;
}

describe('against the real functions', () => {
  it('fetches the session the worker was launched for, parsed by the contract', async () => {
    const { sessionId, env } = await launch('client-session-room');
    const session = await clientFor(env).getSession();
    expect(session).toEqual({
      sessionId,
      room: 'client-session-room',
      providers: {
        stt: env.STT_PROVIDERS?.split(','),
        llm: env.LLM_PROVIDERS?.split(','),
        tts: env.TTS_PROVIDERS?.split(','),
      },
      systemPrompt: 'You are the client test agent.',
      greeting: 'Hi from the test.',
      history: [],
    });
  });

  it('appends history in order and reads it back with the session', async () => {
    const { env } = await launch('client-history-room');
    const client = clientFor(env);
    await client.appendHistory([{ role: 'user', text: 'What time is it?' }]);
    await client.appendHistory([
      { role: 'assistant', text: 'It is noon.' },
      { role: 'user', text: 'Thanks.' },
    ]);
    await client.appendHistory([{ role: 'assistant', text: 'You are', interrupted: true }]);
    const { history } = await client.getSession();
    expect(history).toEqual([
      { role: 'user', text: 'What time is it?' },
      { role: 'assistant', text: 'It is noon.' },
      { role: 'user', text: 'Thanks.' },
      { role: 'assistant', text: 'You are', interrupted: true },
    ]);
  });

  it('reports joined and ended, then gets a 409 that says the session has ended', async () => {
    const { sessionId, env } = await launch('client-status-room');
    const client = clientFor(env);
    await client.reportStatus('joined');
    expect((await sessionFields(cp.redis, sessionId))?.status).toBe('joined');
    await client.reportStatus('ended', 'caller hung up');
    expect(await sessionFields(cp.redis, sessionId)).toMatchObject({ status: 'ended', workerReason: 'caller hung up' });

    const err = await failure(client.reportStatus('active'));
    expect(err).toMatchObject({ kind: 'http', status: 409, code: 'session_ended', sessionEnded: true, retryable: false });
  });

  it('posts metrics that end up in the health scores', async () => {
    const { env } = await launch('client-metrics-room');
    const before = await providerTable();
    const count = (table: typeof before, id: string) => table.find((p) => p.id === id) ?? { successes: 0, failures: 0 };
    await clientFor(env).postMetrics({
      outcomes: [
        { modality: 'tts', provider: 'elevenlabs', ok: true, ttfbMs: 120, durationMs: 800, characters: 40 },
        { modality: 'tts', provider: 'elevenlabs', ok: true, ttfbMs: 130, durationMs: 700, characters: 30 },
        { modality: 'stt', provider: 'deepgram', ok: false, errorClass: 'timeout', durationMs: 3_000 },
      ],
      turns: [{ turn: 1, endToEndMs: 900 }],
      process: { cpuMs: 12, rssBytes: 50_000_000 },
    });
    const after = await providerTable();
    expect(count(after, 'tts:elevenlabs').successes - count(before, 'tts:elevenlabs').successes).toBe(2);
    expect(count(after, 'stt:deepgram').failures - count(before, 'stt:deepgram').failures).toBe(1);
  });

  it('refuses to send a body that breaks the contract, without asking the functions', async () => {
    const { env } = await launch('client-invalid-room');
    const client = clientFor(env);
    const err = await failure(client.appendHistory([{ role: 'user', text: '' }]));
    expect(err).toMatchObject({ kind: 'invalid_request', retryable: false, sessionEnded: false });
    expect(err.message).toContain('text');
    expect((await client.getSession()).history).toEqual([]);
  });

  it('bootstraps once: the room token and session come back, the credential cannot be used again', async () => {
    const body = webhookBody({ event: 'participant_joined', room: { name: 'client-boot-room' }, participant: { identity: 'caller-boot' } });
    const { sessionId } = (await (await postWebhook(cp.fn, body, await signWebhook(body))).json()) as { sessionId: string };
    const { env } = await waitFor('the worker', () => cp.workerEnvs().find((w) => w.env.SESSION_ID === sessionId));
    const client = createControlPlaneClient({ functionsUrl: cp.fn.url });
    const boot = await client.bootstrap(env.WORKER_BOOTSTRAP_TOKEN ?? '');
    expect(boot.session.sessionId).toBe(sessionId);
    expect(boot.livekit.identity).toBe(`agent-${sessionId}`);
    // The client now carries the session token: the worker API answers it.
    expect((await client.getSession()).room).toBe('client-boot-room');
    expect((await client.getLiveKitToken()).identity).toBe(`agent-${sessionId}`);
    const again = await failure(createControlPlaneClient({ functionsUrl: cp.fn.url }).bootstrap(env.WORKER_BOOTSTRAP_TOKEN ?? ''));
    expect(again).toMatchObject({ kind: 'http', status: 401, retryable: false });
  });

  it('says a forged token (401) and an unknown session (404) cannot be fixed by retrying', async () => {
    const { env } = await launch('client-auth-room');
    const forged = createControlPlaneClient({ functionsUrl: cp.fn.url, workerToken: `${env.WORKER_TOKEN}x` });
    expect(await failure(forged.getSession())).toMatchObject({ kind: 'http', status: 401, code: 'unauthorized', retryable: false });

    const token = await mintWorkerToken(
      { sessionId: 'sess_missing', room: 'client-auth-room', roomKey: 'RM_client-auth-room', generation: 1, stateless: false },
      WORKER_TOKEN_SECRET,
      600,
      Date.now(),
    );
    const unknown = createControlPlaneClient({ functionsUrl: cp.fn.url, workerToken: token });
    const err = await failure(unknown.postMetrics({ outcomes: [] }));
    expect(err).toMatchObject({ kind: 'http', status: 404, code: 'session_not_found', retryable: false, sessionEnded: false });
  });

  it('turns Redis being down into retryable 503s, and works again once it is back', async () => {
    const { sessionId, env } = await launch('client-redis-room');
    const client = clientFor(env);
    // redis-server comes back empty: keep the session to put it back, as a persistent Redis would have kept it.
    const saved = await sessionFields(cp.redis, sessionId);
    expect(saved).not.toBeNull();
    await cp.stack.stopRedis();
    try {
      // Each call's failure is taken at once: a rejection must never wait unobserved for the one before it.
      for (const failed of [
        failure(client.getSession()),
        failure(client.appendHistory([{ role: 'user', text: 'hello?' }])),
        failure(client.postMetrics({ outcomes: [{ modality: 'llm', provider: 'groq', ok: true, durationMs: 10 }] })),
      ]) {
        expect(await failed).toMatchObject({ kind: 'http', status: 503, code: 'unavailable', retryable: true, retryAfterMs: 2_000 });
      }
    } finally {
      await cp.stack.startRedis();
    }
    await waitFor('Redis to answer through the stand-in', redisAnswers);
    await cp.redis.hset(`session:${sessionId}`, saved ?? {});
    await client.appendHistory([{ role: 'user', text: 'hello again' }]);
    expect((await client.getSession()).history).toEqual([{ role: 'user', text: 'hello again' }]);
  });
});

describe('when the functions cannot answer properly', () => {
  let server: Server;
  let url: string;
  let handle: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;

  beforeAll(async () => {
    server = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = (timeoutMs = 5_000) => createControlPlaneClient({ functionsUrl: url, workerToken: 'any', timeoutMs });
  const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
    handle = (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
  };

  it('retries 429 and 5xx (with retry-after) but not 400, and reads the error the functions sent', async () => {
    answer(429, JSON.stringify({ error: { code: 'rate_limited', message: 'slow down' } }), { 'retry-after': '3' });
    expect(await failure(client().postMetrics({}))).toMatchObject({ status: 429, code: 'rate_limited', retryable: true, retryAfterMs: 3_000 });
    answer(500, 'internal error');
    expect(await failure(client().reportStatus('active'))).toMatchObject({ status: 500, retryable: true, sessionEnded: false });
    answer(400, JSON.stringify({ error: { code: 'invalid_body', message: 'messages: Too small' } }));
    const bad = await failure(client().appendHistory([{ role: 'user', text: 'hi' }]));
    expect(bad).toMatchObject({ status: 400, code: 'invalid_body', retryable: false });
    expect(bad.message).toContain('messages: Too small');
  });

  it("delivers 'joined' and 'active' through the retrying outbox, in order, after the functions recover", async () => {
    const received: string[] = [];
    let failuresLeft = 5;
    handle = (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (failuresLeft-- > 0) {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"unavailable","message":"later"}}');
          return;
        }
        received.push((JSON.parse(body) as { status: string }).status);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    };
    let ended = false;
    const statuses = createStatusOutbox({
      client: client(),
      logger: silentLogger,
      onSessionEnded: () => (ended = true),
      retryIntervalMs: 50,
      retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 50 },
    });
    try {
      statuses.report('joined');
      statuses.report('active');
      await waitFor('both statuses delivered', () => received.length === 2, 10_000);
      expect(received).toEqual(['joined', 'active']);
      expect(ended).toBe(false);
      // At shutdown the last word goes out within the bound; a 409 tells the worker to leave.
      answer(409, JSON.stringify({ error: { code: 'superseded', message: 'a newer worker took over' } }));
      statuses.report('ended', 'sigterm');
      await statuses.flush(2_000);
      expect(ended).toBe(true);
    } finally {
      statuses.close();
    }
  });

  it('rejects a session that does not match the contract', async () => {
    answer(200, JSON.stringify({ sessionId: 's', room: 'r' }));
    expect(await failure(client().getSession())).toMatchObject({ kind: 'invalid_response', retryable: false });
  });

  it('gives up on a server that never answers, as a retryable timeout', async () => {
    handle = () => undefined;
    expect(await failure(client(200).getSession())).toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('gives up on a server that sends headers and then stalls', async () => {
    handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"sessionId":');
    };
    expect(await failure(client(200).getSession())).toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('stops when the caller aborts, and says so (not retryable)', async () => {
    handle = () => undefined;
    const controller = new AbortController();
    const call = client().getSession({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await failure(call)).toMatchObject({ kind: 'aborted', retryable: false });
  });

  it('calls a port where nothing listens a retryable network failure', async () => {
    const nowhere = createControlPlaneClient({ functionsUrl: `http://127.0.0.1:${await closedPort()}`, workerToken: 'any' });
    expect(await failure(nowhere.postMetrics({}))).toMatchObject({ kind: 'network', retryable: true, status: undefined });
  });
});
