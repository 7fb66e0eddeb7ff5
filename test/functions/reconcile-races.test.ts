// Reconcile and launch races inside workerd, on real Redis and the real local launcher: a launch answer that comes
// after the worker already said joined, and launch retries that run out of their time budget.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapWorker,
  postWebhook,
  postWorkerStatus,
  recordedWorkerEnv,
  startControlPlane,
  startControlPlaneWithLauncherDown,
  startSiblingFunctions,
  type ControlPlane,
  type ControlPlaneWithLauncherDown,
} from '../support/control-plane.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';
import { fieldsOf, isActive, openSession, waitForStatus } from './session-helpers.ts';

const TIMING = { LAUNCH_JOIN_TIMEOUT_MS: '5000', WORKER_HEARTBEAT_TIMEOUT_MS: '10000', LAUNCH_MAX_ATTEMPTS: '4' };

describe('a launch answer that comes late', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane(TIMING);
  });
  afterAll(async () => {
    await cp?.close();
  });
  const runningFor = async (room: string) => (await cp.launcher.tasks()).filter((t) => t.room === room && t.state === 'running');

  it('never sets a session that already said joined back to launched when the launch answer comes late', async () => {
    const room = 'rc-joined-first';
    // Forwards to the launcher at once (the worker starts) but holds the launcher's ANSWER until released.
    let releaseAnswer!: () => void;
    const answerHeld = new Promise<void>((r) => (releaseAnswer = r));
    const lateAnswers = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const upstream = await fetch(`${cp.launcher.url}${req.url ?? '/'}`, {
          method: req.method ?? 'GET',
          headers: { authorization: req.headers.authorization ?? '', 'content-type': req.headers['content-type'] ?? 'application/json' },
          ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
        });
        const text = await upstream.text();
        if (req.method === 'POST') await answerHeld;
        res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
      });
    });
    await new Promise<void>((r) => lateAnswers.listen(0, '127.0.0.1', r));
    const slow = await startSiblingFunctions(cp, { ...TIMING, LOCAL_LAUNCHER_URL: `http://127.0.0.1:${(lateAnswers.address() as AddressInfo).port}` });
    try {
      cp.livekit.rooms.add(room);
      const body = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: 'quick' } });
      const { sessionId } = (await (await postWebhook(slow, body, await signWebhook(body))).json()) as { sessionId: string };
      const task = await waitFor('the task', async () => (await runningFor(room))[0]);
      const env = await waitFor('the worker to start', () => recordedWorkerEnv(cp, task.pid));
      const { workerToken } = await bootstrapWorker(slow, env);
      expect((await postWorkerStatus(slow, workerToken, { status: 'joined' })).status).toBe(200);
      releaseAnswer();
      const fields = await waitFor('the launch recorded', async () => {
        const f = await fieldsOf(cp, sessionId);
        return f.taskId ? f : undefined;
      });
      expect(fields.status).toBe('joined');
      expect(fields.taskId).toBe(task.taskId);
    } finally {
      releaseAnswer();
      await slow.dispose();
      lateAnswers.closeAllConnections();
      await new Promise((r) => lateAnswers.close(r));
    }
  });
});

describe('a launch retried past its time budget', () => {
  let cp: ControlPlaneWithLauncherDown;
  beforeAll(async () => {
    // Plenty of attempts: only the budget (LAUNCH_RETRY_BUDGET_MINUTES) can end the retries.
    cp = await startControlPlaneWithLauncherDown({ ...TIMING, LAUNCH_MAX_ATTEMPTS: '20', LAUNCH_RETRY_BUDGET_MINUTES: '2' });
  });
  afterAll(async () => {
    await cp?.close();
  });

  it('is retried with growing backoff inside the budget and given up past it, freeing the room', async () => {
    const room = 'rc-budget';
    cp.livekit.rooms.add(room);
    const sessionId = await openSession(cp, room);
    const first = await waitForStatus(cp, sessionId, 'launch_pending');
    const createdAtMs = Number(first.createdAtMs);
    await cp.fn.scheduled(Number(first.nextLaunchAtMs) + 1);
    const second = await fieldsOf(cp, sessionId);
    expect(second).toMatchObject({ status: 'launch_pending', launchAttempts: '6' });
    // Backoff grows with the attempts: the next try waits longer than the first one did.
    expect(Number(second.nextLaunchAtMs) - Number(second.updatedAtMs)).toBeGreaterThan(Number(first.nextLaunchAtMs) - Number(first.updatedAtMs));

    await cp.fn.scheduled(createdAtMs + 2 * 60_000 + 1_000);
    const failed = await fieldsOf(cp, sessionId);
    expect(failed.status).toBe('launch_failed');
    expect(failed.lastLaunchError).toMatch(/2 min launch budget/);
    expect(Number(failed.launchAttempts)).toBeLessThan(20);
    expect(await isActive(cp, sessionId)).toBe(false);
    expect(await cp.redis.get(`room:RM_${room}:session`)).toBeNull();
  });
});

