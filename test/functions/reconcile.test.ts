// The reconcile cron inside workerd: fn.scheduled(atMs) runs it as if it fired at atMs, so a time in the future stands
// for elapsed time. Real Redis, the real local launcher with recording stand-in workers, a fake LiveKit RoomService.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  postWebhook,
  postWorkerStatus,
  recordedWorkerEnv,
  sessionFields,
  sessionIdOfRoom,
  startControlPlane,
  startControlPlaneWithLauncherDown,
  startHoldingProxy,
  type ControlPlane,
  type ControlPlaneWithLauncherDown,
  type HoldingProxy,
  bootstrapWorker,
} from '../support/control-plane.ts';
import { fieldsOf, finishRoom, isActive, openSession, waitForStatus } from './session-helpers.ts';
import type { LauncherTask } from '../support/local-launcher.ts';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { waitFor } from '../support/wait.ts';

const JOIN_TIMEOUT_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 10_000;
const TIMING = {
  LAUNCH_JOIN_TIMEOUT_MS: String(JOIN_TIMEOUT_MS),
  WORKER_HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
  LAUNCH_MAX_ATTEMPTS: '4',
};

describe('with the launcher up', () => {
  let cp: ControlPlane;

  beforeAll(async () => {
    cp = await startControlPlane(TIMING);
  });
  afterAll(async () => {
    await cp?.close();
  });
  beforeEach(async () => {
    // The cron walks the whole index: each test starts from an empty one, so earlier tests' sessions stay out of it.
    await cp.redis.del('sessions:active');
    cp.livekit.rooms.clear();
    cp.livekit.failing = false;
  });

  const runningFor = async (room: string): Promise<LauncherTask[]> =>
    (await cp.launcher.tasks()).filter((t) => t.room === room && t.state === 'running');

  interface Launched {
    sessionId: string;
    fields: Record<string, string>;
    task: LauncherTask;
    workerToken: string;
  }

  /** A session in a room LiveKit reports as existing, whose stand-in worker is up (its SIGTERM handler installed). */
  async function launchedSession(room: string): Promise<Launched> {
    cp.livekit.rooms.add(room);
    const sessionId = await openSession(cp, room);
    const fields = await waitForStatus(cp, sessionId, 'launched');
    const task = (await runningFor(room)).find((t) => t.taskId === fields.taskId);
    if (!task) throw new Error(`no running task ${fields.taskId} for ${room}`);
    const env = await waitFor(`the worker of ${room} to start`, () => recordedWorkerEnv(cp, task.pid));
    return { sessionId, fields, task, workerToken: (await bootstrapWorker(cp.fn, env)).workerToken };
  }

  async function expectReplaced(before: Launched, room: string): Promise<void> {
    const after = await fieldsOf(cp, before.sessionId);
    expect(after).toMatchObject({ status: 'launched', launchGeneration: '2', launchAttempts: '2' });
    expect(after.taskId).toBeTruthy();
    expect(after.taskId).not.toBe(before.task.taskId);
    await waitFor('the old worker to receive SIGTERM', () => cp.stoppedWorkerPids().includes(before.task.pid ?? -1));
    const running = await waitFor(`only the new worker running for ${room}`, async () => {
      const tasks = await runningFor(room);
      return tasks.length === 1 ? tasks : undefined;
    });
    expect(running[0]?.taskId).toBe(after.taskId);
    expect(running[0]?.sessionId).toBe(before.sessionId);
  }

  it('leaves a launched worker alone before the join timeout and replaces it after', async () => {
    const room = 'rc-never-joined';
    const before = await launchedSession(room);
    const launchedAtMs = Number(before.fields.launchedAtMs);

    await cp.fn.scheduled(launchedAtMs + JOIN_TIMEOUT_MS - 1_000);
    expect(await fieldsOf(cp, before.sessionId)).toMatchObject({
      status: 'launched', taskId: before.task.taskId, launchGeneration: '1', launchAttempts: '1',
    });
    expect(cp.stoppedWorkerPids()).not.toContain(before.task.pid);

    await cp.fn.scheduled(launchedAtMs + JOIN_TIMEOUT_MS + 1_000);
    await expectReplaced(before, room);
  });

  it('ends the session and stops the worker when the room no longer exists in LiveKit', async () => {
    const room = 'rc-room-gone';
    const before = await launchedSession(room);
    cp.livekit.rooms.delete(room);

    await cp.fn.scheduled();
    const after = await fieldsOf(cp, before.sessionId);
    expect(after).toMatchObject({ status: 'ended', endReason: 'room_gone' });
    expect(await isActive(cp, before.sessionId)).toBe(false);
    await waitFor('the worker to receive SIGTERM', () => cp.stoppedWorkerPids().includes(before.task.pid ?? -1));
    await waitFor(`no worker running for ${room}`, async () => (await runningFor(room)).length === 0);
  });

  it('ends nothing while LiveKit is unreachable', async () => {
    const room = 'rc-livekit-down';
    const before = await launchedSession(room);
    cp.livekit.rooms.delete(room);
    cp.livekit.failing = true;
    const callsBefore = cp.livekit.calls;

    await cp.fn.scheduled();
    // The cron did ask LiveKit, and took the failed answer for "unknown", not for "no rooms".
    expect(cp.livekit.calls).toBeGreaterThan(callsBefore);
    expect(await fieldsOf(cp, before.sessionId)).toMatchObject({ status: 'launched', taskId: before.task.taskId });
    expect(await isActive(cp, before.sessionId)).toBe(true);
    expect(cp.stoppedWorkerPids()).not.toContain(before.task.pid);
    expect(await runningFor(room)).toHaveLength(1);
  });

  it('relaunches a joined worker only once it has been silent past the heartbeat timeout', async () => {
    const room = 'rc-silent';
    const before = await launchedSession(room);
    const res = await postWorkerStatus(cp.fn, before.workerToken, { status: 'joined' });
    expect(res.status).toBe(200);
    const joined = await fieldsOf(cp, before.sessionId);
    expect(joined.status).toBe('joined');
    const lastSeenAtMs = Number(joined.lastSeenAtMs);

    // Past the join timeout but within the heartbeat timeout: a joined worker is judged by its heartbeat.
    await cp.fn.scheduled(lastSeenAtMs + JOIN_TIMEOUT_MS + 2_000);
    expect(await fieldsOf(cp, before.sessionId)).toMatchObject({ status: 'joined', taskId: before.task.taskId, launchGeneration: '1' });
    expect(cp.stoppedWorkerPids()).not.toContain(before.task.pid);

    await cp.fn.scheduled(lastSeenAtMs + HEARTBEAT_TIMEOUT_MS + 1_000);
    await expectReplaced(before, room);
  });

  it('relaunches a worker that reported failed; the replaced worker can no longer move or end the session', async () => {
    const room = 'rc-failed';
    const before = await launchedSession(room);
    const res = await postWorkerStatus(cp.fn, before.workerToken, { status: 'failed', reason: 'every stt provider failed' });
    expect(res.status).toBe(200);
    expect((await fieldsOf(cp, before.sessionId)).status).toBe('failed');

    await cp.fn.scheduled();
    await expectReplaced(before, room);
    // Stopped with SIGTERM, the old worker says goodbye with its old credentials: refused, the session lives on.
    const late = await postWorkerStatus(cp.fn, before.workerToken, { status: 'ended', reason: 'sigterm' });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('superseded');
    expect(await fieldsOf(cp, before.sessionId)).toMatchObject({ status: 'launched', launchGeneration: '2' });
    expect(await isActive(cp, before.sessionId)).toBe(true);
  });

  it('counts a recent heartbeat as proof of joining: a worker whose joined is still on its way is not replaced', async () => {
    const room = 'rc-heartbeat-join';
    const before = await launchedSession(room);
    // The worker is talking (metrics, a heartbeat) but its 'joined' has not landed yet.
    const beat = await cp.fn.fetch('/v1/worker/metrics', {
      method: 'POST',
      headers: { authorization: `Bearer ${before.workerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ outcomes: [] }),
    });
    expect(beat.status).toBe(200);
    const lastSeenAtMs = await waitFor('the heartbeat recorded', async () => Number((await fieldsOf(cp, before.sessionId)).lastSeenAtMs) || undefined);

    await cp.fn.scheduled(Math.max(Number(before.fields.launchedAtMs) + JOIN_TIMEOUT_MS + 1_000, lastSeenAtMs + 1_000));
    expect(await fieldsOf(cp, before.sessionId)).toMatchObject({ status: 'launched', taskId: before.task.taskId, launchGeneration: '1' });
    expect(cp.stoppedWorkerPids()).not.toContain(before.task.pid);

    // Silent past the heartbeat timeout as well: now it is replaced.
    await cp.fn.scheduled(lastSeenAtMs + HEARTBEAT_TIMEOUT_MS + 1_000);
    await expectReplaced(before, room);
  });

  it('drops index entries whose session hash is gone, and keeps the live ones', async () => {
    const live = await launchedSession('rc-index-live');
    const expired = await launchedSession('rc-index-expired');
    await cp.redis.del(`session:${expired.sessionId}`);
    await cp.redis.zadd('sessions:active', { score: 1, member: 'sess_never_existed' });

    await cp.fn.scheduled();
    expect(await isActive(cp, expired.sessionId)).toBe(false);
    expect(await isActive(cp, 'sess_never_existed')).toBe(false);
    expect(await isActive(cp, live.sessionId)).toBe(true);
    // Dropping an entry creates nothing: no half-written hash for the expired session.
    expect(await sessionFields(cp.redis, expired.sessionId)).toBeNull();
  });
});

describe('a launch that failed because the launcher was down', () => {
  async function pendingSession(cp: ControlPlaneWithLauncherDown, room: string): Promise<{ sessionId: string; fields: Record<string, string> }> {
    cp.livekit.rooms.add(room);
    const sessionId = await openSession(cp, room);
    const fields = await waitForStatus(cp, sessionId, 'launch_pending');
    expect(fields.launchAttempts).toBe('3');
    expect(fields.lastLaunchError).toMatch(/local launcher launch at http:\/\/127\.0\.0\.1:\d+ unreachable/);
    expect(Number(fields.nextLaunchAtMs)).toBeGreaterThan(0);
    expect(await sessionIdOfRoom(cp.redis, room)).toBe(sessionId);
    return { sessionId, fields };
  }

  describe('and came back', () => {
    let cp: ControlPlaneWithLauncherDown;
    beforeAll(async () => {
      cp = await startControlPlaneWithLauncherDown(TIMING);
    });
    afterAll(async () => {
      await cp?.close();
    });

    it('is launched by the cron once the launcher listens again', async () => {
      const room = 'rc-launcher-back';
      const { sessionId, fields } = await pendingSession(cp, room);

      const launcher = await cp.startLauncher();
      await cp.fn.scheduled(Number(fields.nextLaunchAtMs) + 1);
      const after = await fieldsOf(cp, sessionId);
      // A retry of a launch that never produced a task: same generation (same idempotency key), one more attempt.
      expect(after).toMatchObject({ status: 'launched', launchAttempts: '4', launchGeneration: '1' });
      const tasks = (await launcher.tasks()).filter((t) => t.room === room && t.state === 'running');
      expect(tasks.map((t) => t.taskId)).toEqual([after.taskId]);
      expect(tasks[0]?.sessionId).toBe(sessionId);
      const env = await waitFor('the worker to start', () => recordedWorkerEnv(cp, tasks[0]?.pid ?? null));
      expect(env).toMatchObject({ ROOM: room, SESSION_ID: sessionId });
    });
  });

  describe('and stays down', () => {
    let cp: ControlPlaneWithLauncherDown;
    beforeAll(async () => {
      cp = await startControlPlaneWithLauncherDown(TIMING);
    });
    afterAll(async () => {
      await cp?.close();
    });

    it('gives up after LAUNCH_MAX_ATTEMPTS and leaves the index', async () => {
      const room = 'rc-launcher-gone';
      const { sessionId, fields } = await pendingSession(cp, room);

      await cp.fn.scheduled(Number(fields.nextLaunchAtMs) + 1);
      const failed = await fieldsOf(cp, sessionId);
      expect(failed).toMatchObject({ status: 'launch_failed', launchAttempts: '4' });
      expect(failed.lastLaunchError).toMatch(/unreachable/);

      // Bounded: it leaves the index at once and later runs try nothing more.
      expect(await isActive(cp, sessionId)).toBe(false);
      await cp.fn.scheduled(Number(fields.nextLaunchAtMs) + 60_000);
      expect(await fieldsOf(cp, sessionId)).toMatchObject({ status: 'launch_failed', launchAttempts: '4' });
      expect(cp.launcher).toBeUndefined();

      // The room is free again: the next caller's join opens a fresh session instead of finding it taken.
      expect(await cp.redis.get(`room:RM_${room}:session`)).toBeNull();
      const body = webhookBody({ event: 'participant_joined', room: { name: room }, participant: { identity: 'second-caller' } });
      const res = await postWebhook(cp.fn, body, await signWebhook(body));
      const next = (await res.json()) as { action: string; sessionId: string };
      expect(next.action).toBe('launching');
      expect(next.sessionId).not.toBe(sessionId);
    });
  });
});

describe('a room that finishes while a worker is being started', () => {
  let cp: ControlPlane;
  let livekitGate: HoldingProxy;
  let launcherGate: HoldingProxy;

  beforeAll(async () => {
    livekitGate = await startHoldingProxy();
    launcherGate = await startHoldingProxy();
    cp = await startControlPlane({ ...TIMING, LIVEKIT_URL: livekitGate.url.replace('http', 'ws'), LOCAL_LAUNCHER_URL: launcherGate.url });
    livekitGate.target = cp.livekit.url;
    launcherGate.target = cp.launcher.url;
  });
  afterAll(async () => {
    await cp?.close();
    await livekitGate?.close();
    await launcherGate?.close();
  });
  beforeEach(async () => {
    await cp.redis.del('sessions:active');
  });

  const tasksFor = async (room: string) => (await cp.launcher.tasks()).filter((t) => t.room === room);
  const runningFor = async (room: string) => (await tasksFor(room)).filter((t) => t.state === 'running');

  it('stops the worker whose launch completes after room_finished ended the session', async () => {
    const room = 'race-launch';
    launcherGate.holding = true;
    const sessionId = await openSession(cp, room);
    await waitFor('the launch request to reach the launcher gate', () => launcherGate.held === 1);
    expect(await finishRoom(cp, room)).toBe('ended');
    expect(await fieldsOf(cp, sessionId)).toMatchObject({ status: 'ended', endReason: 'room_finished' });

    launcherGate.release();
    await waitFor('the launcher to start the late task', async () => (await tasksFor(room)).length === 1);
    // Nobody would ever stop it otherwise: the session that could name it has ended.
    await waitFor(`no worker running for ${room}`, async () => (await runningFor(room)).length === 0);
    const fields = await fieldsOf(cp, sessionId);
    expect(fields).toMatchObject({ status: 'ended', endReason: 'room_finished' });
    expect(fields.taskId).toBeUndefined();
  });

  it('does not relaunch a session that room_finished ended while the cron was asking LiveKit', async () => {
    const room = 'race-relaunch';
    cp.livekit.rooms.add(room);
    const sessionId = await openSession(cp, room);
    const launched = await waitForStatus(cp, sessionId, 'launched');
    const [task] = await runningFor(room);
    const env = await waitFor('the worker to start', () => recordedWorkerEnv(cp, task?.pid ?? null));
    expect((await postWorkerStatus(cp.fn, (await bootstrapWorker(cp.fn, env)).workerToken, { status: 'failed' })).status).toBe(200);

    livekitGate.holding = true;
    const sweep = cp.fn.scheduled();
    await waitFor('the cron to ask LiveKit', () => livekitGate.held === 1);
    expect(await finishRoom(cp, room)).toBe('ended');
    livekitGate.release();
    await sweep;

    // LiveKit's answer predates room_finished and still lists the room; the cron's copy of the session says failed.
    expect(await tasksFor(room)).toHaveLength(1);
    expect((await tasksFor(room))[0]?.taskId).toBe(launched.taskId);
    expect(await fieldsOf(cp, sessionId)).toMatchObject({ status: 'ended', endReason: 'room_finished', launchGeneration: '1' });
    await waitFor(`no worker running for ${room}`, async () => (await runningFor(room)).length === 0);
  });
});
