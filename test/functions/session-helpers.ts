// Small helpers the reconcile tests share: open a session the way LiveKit's webhook does, and read what the
// functions stored about it.
import { expect } from 'vitest';
import { postWebhook, sessionFields, type ControlPlane } from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';

export type Plane = Pick<ControlPlane, 'fn' | 'redis'>;

export async function openSession(cp: Plane, room: string): Promise<string> {
  const body = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: `caller-${room}` } });
  const res = await postWebhook(cp.fn, body, await signWebhook(body));
  expect(res.status).toBe(200);
  const json = (await res.json()) as { action: string; sessionId: string };
  expect(json.action).toBe('launching');
  return json.sessionId;
}

export async function finishRoom(cp: Plane, room: string): Promise<string> {
  const body = webhookBody({ event: 'room_finished', room: { name: room } });
  const res = await postWebhook(cp.fn, body, await signWebhook(body));
  expect(res.status).toBe(200);
  return ((await res.json()) as { action: string }).action;
}

export async function fieldsOf(cp: Plane, sessionId: string): Promise<Record<string, string>> {
  const fields = await sessionFields(cp.redis, sessionId);
  if (!fields) throw new Error(`session ${sessionId} has no hash`);
  return fields;
}

export async function waitForStatus(cp: Plane, sessionId: string, status: string): Promise<Record<string, string>> {
  return waitFor(`session ${sessionId} to be ${status}`, async () => {
    const fields = await sessionFields(cp.redis, sessionId);
    return fields?.status === status ? fields : undefined;
  });
}

export async function isActive(cp: Plane, sessionId: string): Promise<boolean> {
  return (await cp.redis.zscore('sessions:active', sessionId)) !== null;
}

