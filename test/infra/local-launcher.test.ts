// The local launcher as a real process (`node infra/local/launcher/main.ts`), driven through the functions' own
// client (functions/launchers/local.ts), starting a real stand-in worker (test/fixtures/recording-worker.ts).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalLauncher } from '../../functions/launchers/local.ts';
import { LaunchError, type LaunchRequest } from '../../functions/launchers/types.ts';
import {
  RECORDING_WORKER_COMMAND,
  REPO_ROOT,
  spawnLauncher,
  startLocalLauncher,
  TEST_LAUNCHER_TOKEN,
  type LauncherTask,
  type RunningLauncher,
} from '../support/local-launcher.ts';
import { waitFor } from '../support/wait.ts';

const TOKEN = 'test-token-0123456789abcdef';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function request(room: string, idempotencyKey: string, env: Record<string, string> = {}): LaunchRequest {
  const sessionId = `session-${room}`;
  return {
    room,
    sessionId,
    idempotencyKey,
    env: { ROOM: room, SESSION_ID: sessionId, FUNCTIONS_URL: 'http://127.0.0.1:9/functions', ...env },
  };
}

describe('local launcher, real process with a stand-in worker', () => {
  let outDir: string;
  let launcher: RunningLauncher;
  let client: ReturnType<typeof createLocalLauncher>;

  const headers = () => ({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' });
  const listTasks = (): Promise<LauncherTask[]> => launcher.tasks(TOKEN);
  const taskById = async (taskId: string) => (await listTasks()).find((t) => t.taskId === taskId);
  const recording = (pid: number) =>
    waitFor(`worker ${pid} to record its env`, () => {
      const file = join(outDir, `${pid}.json`);
      return existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as { cwd: string; env: Record<string, string> })
        : undefined;
    });
  const pidOf = async (taskId: string) => {
    const task = await taskById(taskId);
    expect(task?.pid).toBeTypeOf('number');
    return task!.pid!;
  };

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'local-launcher-'));
    launcher = await startLocalLauncher({
      LOCAL_WORKER_COMMAND: RECORDING_WORKER_COMMAND,
      LOCAL_LAUNCHER_TOKEN: TOKEN,
      LOCAL_LAUNCHER_STOP_GRACE_MS: '500',
      FIXTURE_OUT_DIR: outDir,
      // Secrets in the launcher's own environment that must never reach a worker.
      LIVEKIT_API_SECRET: 'livekit-secret-in-launcher-env',
      LIVEKIT_API_KEY: 'devkey',
      UPSTASH_REDIS_REST_TOKEN: 'redis-token-in-launcher-env',
      SOME_OTHER_SETTING: 'not-on-the-allow-list',
      OPENAI_API_KEY: 'sk-allowed',
    });
    client = createLocalLauncher({ url: launcher.url, token: TOKEN });
  });

  afterAll(async () => {
    if (launcher) await launcher.stop();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('starts a worker in the repo root that sees the request env and the launcher env, output prefixed', async () => {
    const { taskId } = await client.launch(request('room-a', 'key-a', { WORKER_TOKEN: 'worker-token-a' }));
    const recorded = await recording(await pidOf(taskId));

    expect(recorded.env.ROOM).toBe('room-a');
    expect(recorded.env.SESSION_ID).toBe('session-room-a');
    expect(recorded.env.FUNCTIONS_URL).toBe('http://127.0.0.1:9/functions');
    expect(recorded.env.WORKER_TOKEN).toBe('worker-token-a');
    expect(recorded.env.FIXTURE_OUT_DIR).toBe(outDir); // allow-listed from the launcher's own env
    expect(recorded.env.OPENAI_API_KEY).toBe('sk-allowed'); // a provider key: on the default allow-list
    // Nothing else is inherited: no LiveKit credentials, no Redis token, no launcher token, nothing unlisted.
    for (const name of ['LIVEKIT_API_SECRET', 'LIVEKIT_API_KEY', 'UPSTASH_REDIS_REST_TOKEN', 'LOCAL_LAUNCHER_TOKEN', 'SOME_OTHER_SETTING']) {
      expect(recorded.env[name], name).toBeUndefined();
    }
    // Its own free health port, so two local rooms can run at once.
    expect(recorded.env.HEALTH_PORT).toBe('0');
    expect(recorded.cwd).toBe(REPO_ROOT);
    const prefixed = `[${taskId}] recording worker ready for room room-a`;
    await waitFor('prefixed stdout', () => launcher.stdout().includes(prefixed));
    await waitFor('prefixed stderr', () => launcher.stderr().includes(`[${taskId}] recording worker stderr line`));
  });

  it('answers the same idempotency key with the same task and starts one process', async () => {
    const first = await client.launch(request('room-b', 'key-b'));
    const again = await fetch(`${launcher.url}/v1/tasks`, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ idempotencyKey: 'key-b', sessionId: 'other', room: 'room-b', env: {} }),
    });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { taskId: string }).taskId).toBe(first.taskId);

    const roomB = (await listTasks()).filter((t) => t.room === 'room-b');
    expect(roomB).toHaveLength(1);
    const starts = launcher.stdout().split('\n').filter((l) => l.includes('"task_started"') && l.includes('"room-b"'));
    expect(starts).toHaveLength(1);

    const other = await client.launch(request('room-b', 'key-b-2'));
    expect(other.taskId).not.toBe(first.taskId);
  });

  it('stops a worker with SIGTERM: the process is gone and the task is listed as exited', async () => {
    const { taskId } = await client.launch(request('room-c', 'key-c'));
    const pid = await pidOf(taskId);
    await recording(pid); // its SIGTERM handler is installed once it has recorded

    await client.stop(taskId, 'room finished');
    await waitFor(`pid ${pid} to exit`, () => !isAlive(pid));
    expect(existsSync(join(outDir, `${pid}.stopped`))).toBe(true);
    const task = await waitFor('exited state', async () => {
      const t = await taskById(taskId);
      return t?.state === 'exited' ? t : undefined;
    });
    expect(task).toMatchObject({ room: 'room-c', sessionId: 'session-room-c', pid, exitCode: 0 });
    expect(task.startedAtMs).toBeTypeOf('number');

    await expect(client.stop(taskId, 'again')).resolves.toBeUndefined(); // already exited: fine
    await expect(client.stop('no-such-task', 'unknown')).resolves.toBeUndefined(); // unknown: not running either
  });

  it('kills a worker that ignores SIGTERM once the grace period is over', async () => {
    const { taskId } = await client.launch(request('room-d', 'key-d', { FIXTURE_IGNORE_SIGTERM: '1' }));
    const pid = await pidOf(taskId);
    await recording(pid);

    await client.stop(taskId, 'room finished');
    const task = await waitFor('the stubborn worker to be killed', async () => {
      const t = await taskById(taskId);
      return t?.state === 'exited' ? t : undefined;
    });
    expect(task.exitSignal).toBe('SIGKILL');
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(join(outDir, `${pid}.stopped`))).toBe(false);
  });

  it('records a worker that exits at once as exited with its code', async () => {
    const { taskId } = await client.launch(request('room-e', 'key-e', { FIXTURE_EXIT_CODE: '3' }));
    const task = await waitFor('exited state', async () => {
      const t = await taskById(taskId);
      return t?.state === 'exited' ? t : undefined;
    });
    expect(task.exitCode).toBe(3);
    expect((await client.check()).ok).toBe(true);
  });

  it('answers 400 with a message for bad bodies, and the client reports it as not retryable', async () => {
    const post = (body: string) => fetch(`${launcher.url}/v1/tasks`, { method: 'POST', headers: headers(), body });

    const notJson = await post('{not json');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/not valid JSON/);

    const missing = await post(JSON.stringify({ room: 'r', sessionId: 's' }));
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toMatch(/idempotencyKey/);

    const badEnv = await post(JSON.stringify({ idempotencyKey: 'k', room: 'r', sessionId: 's', env: { PORT: 8080 } }));
    expect(badEnv.status).toBe(400);
    expect(((await badEnv.json()) as { error: string }).error).toMatch(/env\.PORT/);

    const error = await client.launch({ ...request('room-f', 'key-f'), room: '' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).retryable).toBe(false);
    expect((error as LaunchError).message).toMatch(/HTTP 400.*room/);
    expect((await listTasks()).some((t) => t.room === '')).toBe(false);
  });

  it('refuses a request env carrying a credential a worker must not hold', async () => {
    const res = await fetch(`${launcher.url}/v1/tasks`, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ idempotencyKey: 'key-secret', sessionId: 's', room: 'r', env: { LIVEKIT_API_SECRET: 'x' } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/LIVEKIT_API_SECRET/);
  });

  it('takes JSON only: a form or text body (what a browser sends cross-site without asking) gets 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await fetch(`${launcher.url}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type },
        body: JSON.stringify({ idempotencyKey: `key-${type}`, sessionId: 's', room: 'r-form', env: {} }),
      });
      expect(res.status).toBe(415);
    }
    expect((await listTasks()).some((t) => t.room === 'r-form')).toBe(false);
  });

  it('refuses a wrong token (not retryable) while /health stays open', async () => {
    const intruder = createLocalLauncher({ url: launcher.url, token: 'wrong-token-wrong-token' });
    const error = await intruder.launch(request('room-g', 'key-g')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).retryable).toBe(false);
    expect((error as LaunchError).message).toMatch(/HTTP 401/);
    expect((await fetch(`${launcher.url}/v1/tasks`)).status).toBe(401);

    const check = await intruder.check();
    expect(check).toMatchObject({ ok: true, kind: 'local' });
    expect(check.detail).not.toContain('wrong-token');
  });
});

describe('local launcher, limits and failures', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'local-launcher-limits-'));
  const started: RunningLauncher[] = [];
  const start = async (env: Record<string, string>) => {
    const launcher = await startLocalLauncher({ FIXTURE_OUT_DIR: outDir, LOCAL_LAUNCHER_STOP_GRACE_MS: '500', ...env });
    started.push(launcher);
    return launcher;
  };

  afterAll(async () => {
    await Promise.all(started.map((launcher) => launcher.stop()));
    rmSync(outDir, { recursive: true, force: true });
  });

  it('answers 429 beyond LOCAL_LAUNCHER_MAX_TASKS, which the client treats as retryable', async () => {
    const launcher = await start({ LOCAL_WORKER_COMMAND: RECORDING_WORKER_COMMAND, LOCAL_LAUNCHER_MAX_TASKS: '1' });
    const client = createLocalLauncher({ url: launcher.url, token: TEST_LAUNCHER_TOKEN });
    await client.launch(request('room-h', 'key-h'));
    const error = await client.launch(request('room-i', 'key-i')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).retryable).toBe(true);
    expect((error as LaunchError).message).toMatch(/HTTP 429.*LOCAL_LAUNCHER_MAX_TASKS/);
  });

  it('records a worker command that cannot start as exited, and keeps serving', async () => {
    const launcher = await start({ LOCAL_WORKER_COMMAND: '/nonexistent/voice-worker --room x' });
    const client = createLocalLauncher({ url: launcher.url, token: TEST_LAUNCHER_TOKEN });
    const { taskId } = await client.launch(request('room-j', 'key-j'));
    const task = await waitFor('the failed start to be recorded', async () => {
      const response = await fetch(`${launcher.url}/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${TEST_LAUNCHER_TOKEN}` } });
      const t = (await response.json()) as LauncherTask;
      return t.state === 'exited' ? t : undefined;
    });
    expect(task).toMatchObject({ pid: null, exitCode: 127 });
    expect(task.error).toMatch(/ENOENT/);
    expect((await client.check()).ok).toBe(true);
  });

  it.each([
    ['LOCAL_LAUNCHER_STOP_GRACE_MS', 'soon'],
    ['LOCAL_LAUNCHER_PORT', '70000'],
    ['LOCAL_WORKER_COMMAND', `node "worker/main.ts`],
    ['LOCAL_LAUNCHER_TOKEN', 'short-secret'],
    ['LOCAL_LAUNCHER_WORKER_ENV', 'OPENAI_API_KEY,LIVEKIT_API_SECRET'],
  ])('fails to start on a bad %s, naming it without echoing the value', async (name, value) => {
    const launcher = spawnLauncher({ [name]: value });
    const bound = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000));
    const result = await Promise.race([launcher.exited, bound]);
    if (result === 'hung') launcher.child.kill('SIGKILL');
    expect(result).toEqual({ code: 1, signal: null });
    expect(launcher.stderr()).toContain(name);
    if (name === 'LOCAL_LAUNCHER_TOKEN') expect(launcher.stderr()).not.toContain(value);
  });

  it('refuses to start without a token', async () => {
    const launcher = spawnLauncher({ LOCAL_LAUNCHER_TOKEN: '' });
    const bound = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000));
    const result = await Promise.race([launcher.exited, bound]);
    if (result === 'hung') launcher.child.kill('SIGKILL');
    expect(result).toEqual({ code: 1, signal: null });
    expect(launcher.stderr()).toContain('LOCAL_LAUNCHER_TOKEN');
  });

  it('stops its workers when it gets SIGTERM, then exits', async () => {
    const launcher = await start({ LOCAL_WORKER_COMMAND: RECORDING_WORKER_COMMAND });
    const client = createLocalLauncher({ url: launcher.url, token: TEST_LAUNCHER_TOKEN });
    const tasks = [await client.launch(request('room-k', 'key-k')), await client.launch(request('room-l', 'key-l'))];
    const listed = await launcher.tasks();
    const pids = tasks.map(({ taskId }) => listed.find((t) => t.taskId === taskId)?.pid);
    for (const pid of pids) {
      expect(pid).toBeTypeOf('number');
      await waitFor(`worker ${pid} to be up`, () => existsSync(join(outDir, `${pid}.json`)));
    }

    launcher.child.kill('SIGTERM');
    const bound = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000));
    expect(await Promise.race([launcher.exited, bound])).toEqual({ code: 0, signal: null });
    for (const pid of pids as number[]) {
      await waitFor(`worker ${pid} to be gone`, () => !isAlive(pid));
      expect(existsSync(join(outDir, `${pid}.stopped`))).toBe(true);
    }
  });
});

describe('local launcher client, transport failures', () => {
  it('reports an unreachable launcher as retryable and check() as not ok', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));

    const client = createLocalLauncher({ url: `http://127.0.0.1:${port}` });
    const error = await client.launch(request('room-m', 'key-m')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).retryable).toBe(true);
    const check = await client.check();
    expect(check).toMatchObject({ ok: false, kind: 'local' });
    expect(check.detail).toMatch(/unreachable/);
  });

  it('reports a 5xx as retryable with the server message', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'warming up' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const client = createLocalLauncher({ url: `http://127.0.0.1:${port}` });
      const error = await client.stop('some-task', 'done').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LaunchError);
      expect((error as LaunchError).retryable).toBe(true);
      expect((error as LaunchError).message).toMatch(/HTTP 503\): warming up/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('aborts a launcher that never answers at the timeout, as retryable', async () => {
    const server = createServer(() => {
      // never answers
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const client = createLocalLauncher({ url: `http://127.0.0.1:${port}`, requestTimeoutMs: 200 });
      const error = await client.launch(request('room-n', 'key-n')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LaunchError);
      expect((error as LaunchError).retryable).toBe(true);
      expect((error as LaunchError).message).toMatch(/timed out after 200 ms/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
