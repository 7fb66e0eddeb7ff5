// POST /v1/webhooks/livekit inside workerd: signatures as LiveKit makes them, deduplication, exactly one worker per
// room through the real local launcher, and room_finished stopping it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFieldMap } from '../../functions/redis/hash.ts';
import { verifyBootstrapToken } from '../../functions/sessions/worker-token.ts';
import { bootstrapWorker, postWebhook, postWorkerStatus, startControlPlane, startSiblingFunctions, type ControlPlane } from '../support/control-plane.ts';
import { signExpiredWebhook, signWebhook, webhookBody } from '../support/livekit.ts';
import { sleep, waitFor } from '../support/wait.ts';

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const running = async (room: string) => (await cp.launcher.tasks()).filter((t) => t.room === room && t.state === 'running');

async function deliver(body: string): Promise<Response> {
  return postWebhook(cp.fn, body, await signWebhook(body));
}

async function sessionOf(room: string): Promise<Record<string, string>> {
  const id = await cp.redis.get<string>(`room:RM_${room}:session`);
  if (!id) throw new Error(`no session claimed for ${room}`);
  return toFieldMap(await cp.redis.hgetall(`session:${id}`)) ?? {};
}

describe('signature checks', () => {
  const body = webhookBody({ event: 'room_started', room: { name: 'sig-room' } });

  it('rejects a missing signature with 401', async () => {
    expect((await postWebhook(cp.fn, body)).status).toBe(401);
  });

  it('rejects a tampered body with 401', async () => {
    const auth = await signWebhook(body);
    const tampered = body.replace('sig-room', 'sig-roon');
    expect((await postWebhook(cp.fn, tampered, auth)).status).toBe(401);
  });

  it('rejects a body signed with another secret or key with 401', async () => {
    expect((await postWebhook(cp.fn, body, await signWebhook(body, 'devkey', 'not-the-secret'))).status).toBe(401);
    expect((await postWebhook(cp.fn, body, await signWebhook(body, 'otherkey', 'secret'))).status).toBe(401);
  });

  it('rejects an expired signature with 401', async () => {
    expect((await postWebhook(cp.fn, body, await signExpiredWebhook(body))).status).toBe(401);
  });

  it('answers 400 for a correctly signed body that is not a WebhookEvent', async () => {
    for (const bad of ['{"event": ', '{"event": 5}', '[1,2]']) {
      const res = await postWebhook(cp.fn, bad, await signWebhook(bad));
      expect(res.status).toBe(400);
    }
  });

  it('answers 413 for an oversized body, before verifying anything', async () => {
    const huge = JSON.stringify({ event: 'room_started', pad: 'x'.repeat(70 * 1024) });
    expect((await postWebhook(cp.fn, huge, await signWebhook(huge))).status).toBe(413);
  });

  it('never launched anything for the rejected deliveries', async () => {
    await sleep(200);
    expect(await running('sig-room')).toHaveLength(0);
  });
});

describe('launching one worker per room', () => {
  it('launches a worker with a scoped token and the ranked providers when a caller joins', async () => {
    const res = await deliver(webhookBody({ event: 'participant_joined', room: { name: 'room-a' }, participant: { identity: 'alice' } }));
    expect(res.status).toBe(200);
    const json = (await res.json()) as { action: string; sessionId: string };
    expect(json.action).toBe('launching');
    const [task] = await waitFor('one running worker for room-a', async () => ((await running('room-a')).length === 1 ? await running('room-a') : undefined));
    expect(task?.sessionId).toBe(json.sessionId);
    const recorded = await waitFor('the worker env', () => cp.workerEnvs().find((w) => w.pid === task?.pid));
    expect(recorded.env).toMatchObject({
      ROOM: 'room-a',
      SESSION_ID: json.sessionId,
      FUNCTIONS_URL: 'http://127.0.0.1:8787',
      STT_PROVIDERS: 'deepgram,openai',
      LLM_PROVIDERS: 'openai,anthropic,groq',
      TTS_PROVIDERS: 'elevenlabs,openai',
    });
    // Only the single-use bootstrap credential travels in the launch, bound to this session and generation.
    expect(recorded.env.WORKER_TOKEN).toBeUndefined();
    const claims = await verifyBootstrapToken(recorded.env.WORKER_BOOTSTRAP_TOKEN ?? '', 'test-worker-token-secret-of-enough-length');
    expect(claims).toMatchObject({ sessionId: json.sessionId, room: 'room-a', roomKey: 'RM_room-a', generation: 1, stateless: false });
    // It expires within the join timeout (LAUNCH_JOIN_TIMEOUT_MS, 180 s by default).
    expect((claims?.expSeconds ?? 0) - Date.now() / 1000).toBeLessThanOrEqual(181);
    const session = await waitFor('status launched', async () => ((await sessionOf('room-a')).status === 'launched' ? sessionOf('room-a') : undefined));
    expect(session.taskId).toBe(task?.taskId);
    expect(session.launchAttempts).toBe('1');
  });

  it('ignores a redelivery of the same event id', async () => {
    const body = webhookBody({ event: 'participant_joined', room: { name: 'room-b' }, participant: { identity: 'bob' }, id: 'EV_same_id_b' });
    const first = (await (await deliver(body)).json()) as { action: string };
    const second = (await (await deliver(body)).json()) as { action: string };
    expect(first.action).toBe('launching');
    expect(second.action).toBe('duplicate');
    await waitFor('room-b worker', async () => (await running('room-b')).length === 1);
    await sleep(300);
    expect(await running('room-b')).toHaveLength(1);
  });

  it('launches once for ten concurrent identical deliveries', async () => {
    const body = webhookBody({ event: 'participant_joined', room: { name: 'room-c' }, participant: { identity: 'carol' } });
    const auth = await signWebhook(body);
    const responses = await Promise.all(Array.from({ length: 10 }, () => postWebhook(cp.fn, body, auth)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const actions = await Promise.all(responses.map(async (r) => ((await r.json()) as { action: string }).action));
    expect(actions.filter((a) => a === 'launching')).toHaveLength(1);
    await waitFor('room-c worker', async () => (await running('room-c')).length === 1);
    await sleep(300);
    expect(await running('room-c')).toHaveLength(1);
  });

  it('launches once when room_started and many joins for the same room race', async () => {
    const bodies = [
      webhookBody({ event: 'room_started', room: { name: 'room-d' } }),
      ...Array.from({ length: 9 }, (_, i) =>
        webhookBody({ event: 'participant_joined', room: { name: 'room-d' }, participant: { identity: `p${i}` } }),
      ),
    ];
    const responses = await Promise.all(bodies.map((b) => deliver(b)));
    const actions = await Promise.all(responses.map(async (r) => ((await r.json()) as { action: string }).action));
    expect(actions.filter((a) => a === 'launching')).toHaveLength(1);
    expect(actions.filter((a) => a === 'exists')).toHaveLength(8);
    expect(actions[0]).toBe('none');
    await waitFor('room-d worker', async () => (await running('room-d')).length === 1);
  });

  it("never launches for the agent's own join, an agent-prefixed identity or an egress recorder", async () => {
    const joins = [
      { identity: 'agent-sess_x', kind: ParticipantInfo_Kind.AGENT },
      { identity: 'agent-anything', kind: ParticipantInfo_Kind.STANDARD },
      { identity: 'EG_recorder', kind: ParticipantInfo_Kind.EGRESS },
    ];
    for (const participant of joins) {
      const res = await deliver(webhookBody({ event: 'participant_joined', room: { name: 'room-e' }, participant }));
      expect(((await res.json()) as { action: string }).action).toBe('ignored');
    }
    await sleep(300);
    expect(await running('room-e')).toHaveLength(0);
    expect(await cp.redis.get('room:RM_room-e:session')).toBeNull();
  });

  it('launches nothing for a room nobody joined (room_started alone)', async () => {
    const res = await deliver(webhookBody({ event: 'room_started', room: { name: 'room-empty' } }));
    expect(((await res.json()) as { action: string }).action).toBe('none');
    await sleep(300);
    expect(await running('room-empty')).toHaveLength(0);
    expect(await cp.redis.get('room:RM_room-empty:session')).toBeNull();
  });

  it('acknowledges events it does not act on', async () => {
    const res = await deliver(webhookBody({ event: 'track_published', room: { name: 'room-a' } }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { action: string }).action).toBe('none');
  });
});

describe('room_finished', () => {
  it('stops the worker and ends the session; a late join for that room incarnation does not relaunch', async () => {
    await deliver(webhookBody({ event: 'participant_joined', room: { name: 'room-f' }, participant: { identity: 'fred' } }));
    const [task] = await waitFor('room-f worker', async () => ((await running('room-f')).length === 1 ? running('room-f') : undefined));
    // Only a worker that is up has its SIGTERM handler installed.
    await waitFor('the worker to start', () => cp.workerEnvs().some((w) => w.pid === task?.pid));
    const res = await deliver(webhookBody({ event: 'room_finished', room: { name: 'room-f' } }));
    expect(((await res.json()) as { action: string }).action).toBe('ended');
    await waitFor('the worker to receive SIGTERM', () => cp.stoppedWorkerPids().includes(task?.pid ?? -1));
    const session = await sessionOf('room-f');
    expect(session.status).toBe('ended');
    expect(session.endReason).toBe('room_finished');
    expect(await cp.redis.zscore('sessions:active', session.id ?? '')).toBeNull();

    const late = await deliver(webhookBody({ event: 'participant_joined', room: { name: 'room-f' }, participant: { identity: 'late' } }));
    expect(((await late.json()) as { action: string }).action).toBe('finished');
    await sleep(300);
    expect(await running('room-f')).toHaveLength(0);
  });

  it('a new incarnation of the same room name gets a new session', async () => {
    const res = await deliver(webhookBody({ event: 'participant_joined', room: { name: 'room-f', sid: 'RM_room-f-2' }, participant: { identity: 'fred' } }));
    expect(((await res.json()) as { action: string }).action).toBe('launching');
    await waitFor('the new room-f worker', async () => (await running('room-f')).length === 1);
  });
});

describe('a session that ended by itself', () => {
  it('gives a caller who rejoins the same room incarnation a new agent; room_finished stays final', async () => {
    const join = (identity: string) => deliver(webhookBody({ event: 'participant_joined', room: { name: 'room-g' }, participant: { identity } }));
    const first = (await (await join('gina')).json()) as { action: string; sessionId: string };
    expect(first.action).toBe('launching');
    const [task] = await waitFor('room-g worker', async () => ((await running('room-g')).length === 1 ? running('room-g') : undefined));
    const recorded = await waitFor('the worker env', () => cp.workerEnvs().find((w) => w.pid === task?.pid));
    const { workerToken } = await bootstrapWorker(cp.fn, recorded.env);
    // The worker left on its own (idle timeout): it exits after saying so.
    expect((await postWorkerStatus(cp.fn, workerToken, { status: 'ended', reason: 'idle_timeout' })).status).toBe(200);

    const rejoin = (await (await join('gina')).json()) as { action: string; sessionId: string };
    expect(rejoin.action).toBe('launching');
    expect(rejoin.sessionId).not.toBe(first.sessionId);
    await waitFor('a second worker for room-g', async () => (await running('room-g')).length === 2);

    expect(((await (await deliver(webhookBody({ event: 'room_finished', room: { name: 'room-g' } }))).json()) as { action: string }).action).toBe('ended');
    const late = (await (await join('gina-late')).json()) as { action: string };
    expect(late.action).toBe('finished');
  });
});

describe('limits and keys', () => {
  it('opens nothing past MAX_CONCURRENT_SESSIONS: the webhook says at_capacity and no worker starts', async () => {
    const capped = await startSiblingFunctions(cp, { MAX_CONCURRENT_SESSIONS: '1' });
    try {
      // This control plane already has live sessions from the tests above.
      const body = webhookBody({ event: 'participant_joined', room: { name: 'room-over-cap' }, participant: { identity: 'olga' } });
      const res = await postWebhook(capped, body, await signWebhook(body));
      expect(((await res.json()) as { action: string }).action).toBe('at_capacity');
      await sleep(300);
      expect(await running('room-over-cap')).toHaveLength(0);
      expect(await cp.redis.get('room:RM_room-over-cap:session')).toBeNull();
    } finally {
      await capped.dispose();
    }
  });

  it('verifies webhooks with the webhook-only key when one is configured, and refuses the API key for them', async () => {
    const keyed = await startSiblingFunctions(cp, { LIVEKIT_WEBHOOK_API_KEY: 'webhookonly', LIVEKIT_WEBHOOK_API_SECRET: 'webhook-only-secret-0123456789abcdefgh' });
    try {
      const body = webhookBody({ event: 'track_published', room: { name: 'room-a' } });
      expect((await postWebhook(keyed, body, await signWebhook(body))).status).toBe(401);
      const signed = await signWebhook(body, 'webhookonly', 'webhook-only-secret-0123456789abcdefgh');
      expect((await postWebhook(keyed, body, signed)).status).toBe(200);
    } finally {
      await keyed.dispose();
    }
  });
});

/** Between the functions and Redis: while `fails(body)` says so, a command fails as if Redis (or the isolate) died. */
async function startFailingRedis(fails: (body: string) => boolean): Promise<{ url: string; close(): Promise<void> }> {
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (fails(body)) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"injected failure"}');
        return;
      }
      const upstream = await fetch(`${cp.stack.restUrl}${req.url ?? '/'}`, {
        method: req.method ?? 'POST',
        headers: Object.fromEntries(Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' && k !== 'host' && k !== 'content-length' ? [[k, v]] : []))),
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await upstream.arrayBuffer()));
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    async close() {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    },
  };
}

describe('a delivery whose processing fails half-way', () => {
  it('is not marked as seen, so LiveKit\'s redelivery of the same event id is processed', async () => {
    // While armed, every command touching this room (or forgetting an event id) fails, as if the isolate died right
    // after the deduplication step.
    const room = 'room-half-way';
    let armed = false;
    const redis = await startFailingRedis((body) => armed && (body.includes(`RM_${room}`) || /"del"[^\]]*webhook:event/i.test(body)));
    const flaky = await startSiblingFunctions(cp, { UPSTASH_REDIS_REST_URL: redis.url });
    try {
      await deliver(webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: 'hal' } }));
      await waitFor('the worker', async () => (await running(room)).length === 1);
      const finished = webhookBody({ event: 'room_finished', room: { name: room }, id: 'EV_half_way_finished' });
      armed = true;
      const first = await postWebhook(flaky, finished, await signWebhook(finished));
      expect(first.status).toBe(503);
      armed = false;
      // LiveKit retries the same delivery (same event id): it must be processed, not skipped as a duplicate.
      const again = await postWebhook(flaky, finished, await signWebhook(finished));
      expect(again.status).toBe(200);
      expect(((await again.json()) as { action: string }).action).toBe('ended');
      await waitFor(`no worker for ${room}`, async () => (await running(room)).length === 0);
      // And once processed, a third copy is the duplicate it is.
      const third = await postWebhook(flaky, finished, await signWebhook(finished));
      expect(((await third.json()) as { action: string }).action).toBe('duplicate');
    } finally {
      await flaky.dispose();
      await redis.close();
    }
  });

  it('never leaves a room claimed without a session record when the record cannot be written', async () => {
    const room = 'room-claim-no-record';
    let armed = true;
    // Any write of a session record fails (the claim alone would still go through, were it a separate command).
    const redis = await startFailingRedis((body) => armed && body.includes('"session:sess_'));
    const flaky = await startSiblingFunctions(cp, { UPSTASH_REDIS_REST_URL: redis.url });
    try {
      const join = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: 'ray' } });
      const opened = (await (await postWebhook(flaky, join, await signWebhook(join))).json()) as { action: string; sessionId: string };
      expect(opened.action).toBe('launching_without_state');
      // All or nothing: no claim pointing at a session that does not exist (which would block the room for a day).
      expect(await cp.redis.get(`room:RM_${room}:session`)).toBeNull();
      armed = false;

      // The caller still got a worker; its first call adopts the session, and the next join finds it.
      const task = await waitFor('the worker', async () => (await running(room))[0]);
      const env = await waitFor('its env', () => cp.workerEnvs().find((w) => w.pid === task.pid)?.env);
      const { workerToken } = await bootstrapWorker(flaky, env);
      expect((await postWorkerStatus(flaky, workerToken, { status: 'joined' })).status).toBe(200);
      expect(await cp.redis.get(`room:RM_${room}:session`)).toBe(opened.sessionId);
      const next = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: 'ray-2' } });
      const again = (await (await postWebhook(flaky, next, await signWebhook(next))).json()) as { action: string; sessionId: string };
      expect(again).toMatchObject({ action: 'exists', sessionId: opened.sessionId });
    } finally {
      await flaky.dispose();
      await redis.close();
    }
  });
});
