// POST /v1/webhooks/livekit inside workerd: signatures as LiveKit makes them, deduplication, exactly one worker per
// room through the real local launcher, and room_finished stopping it.
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFieldMap } from '../../functions/redis/hash.ts';
import { verifyWorkerToken } from '../../functions/sessions/worker-token.ts';
import { postWebhook, startControlPlane, type ControlPlane } from '../support/control-plane.ts';
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
    const claims = await verifyWorkerToken(recorded.env.WORKER_TOKEN ?? '', 'test-worker-token-secret-of-enough-length');
    expect(claims).toEqual({ sessionId: json.sessionId, room: 'room-a' });
    const session = await waitFor('status launched', async () => ((await sessionOf('room-a')).status === 'launched' ? sessionOf('room-a') : undefined));
    expect(session.taskId).toBe(task?.taskId);
    expect(session.launchAttempts).toBe('1');
  });

  it('ignores a redelivery of the same event id', async () => {
    const body = webhookBody({ event: 'room_started', room: { name: 'room-b' }, id: 'EV_same_id_b' });
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
    expect(actions.filter((a) => a === 'exists')).toHaveLength(9);
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
    expect(((await late.json()) as { action: string }).action).toBe('exists');
    await sleep(300);
    expect(await running('room-f')).toHaveLength(0);
  });

  it('a new incarnation of the same room name gets a new session', async () => {
    const res = await deliver(webhookBody({ event: 'room_started', room: { name: 'room-f', sid: 'RM_room-f-2' } }));
    expect(((await res.json()) as { action: string }).action).toBe('launching');
    await waitFor('the new room-f worker', async () => (await running('room-f')).length === 1);
  });
});
