// functions/launchers/ecs.ts through the real @aws-sdk/client-ecs against a local ECS stand-in on 127.0.0.1 that
// checks the wire protocol (JSON 1.1 target, content type, SigV4 signature recomputed with the known secret).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { parse, stringify } from 'smol-toml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEcsLauncher, type EcsLauncherOptions } from '../../functions/launchers/ecs.ts';
import { LaunchError, type LaunchRequest } from '../../functions/launchers/types.ts';
import {
  ECS_TARGET_PREFIX as TARGET_PREFIX,
  startFakeEcs,
  type FakeEcs,
  type Received,
  type Reply,
} from '../fixtures/fake-ecs.ts';
import { closedPort } from '../fakes/kit/server.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const WRANGLER_BIN = join(REPO_ROOT, 'node_modules/wrangler/bin/wrangler.js');
const REGION = 'eu-west-1';
const CREDENTIALS = { accessKeyId: 'AKIATESTLAUNCHER0001', secretAccessKey: 'test-secret-key/for+sigv4=0123456789' };
const TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/voice-workers/0123456789abcdef0123456789abcdef';

function launcherOptions(endpoint: string, overrides: Partial<EcsLauncherOptions> = {}): EcsLauncherOptions {
  return {
    region: REGION,
    cluster: 'voice-workers',
    taskDefinition: 'voice-worker:7',
    containerName: 'worker',
    subnets: ['subnet-aaa', 'subnet-bbb'],
    securityGroups: ['sg-123'],
    assignPublicIp: true,
    credentials: CREDENTIALS,
    endpoint,
    requestTimeoutMs: 5_000,
    ...overrides,
  };
}

/** An ECS error answer as the JSON 1.1 protocol sends it. */
function ecsError(type: string, message: string, status = 400): Reply {
  return { status, body: { __type: type, message } };
}

function launchRequest(overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  return {
    sessionId: 'sess-1',
    room: 'support-room',
    idempotencyKey: 'RM_abc123',
    env: {
      ROOM: 'support-room',
      SESSION_ID: 'sess-1',
      FUNCTIONS_URL: 'https://functions.example',
      WORKER_TOKEN: 'wt-1',
    },
    ...overrides,
  };
}

describe('ECS launcher through @aws-sdk/client-ecs', () => {
  let ecs: FakeEcs;
  let received: Received[];
  let replies: Reply[];

  beforeAll(async () => {
    ecs = await startFakeEcs({ credentials: CREDENTIALS, taskArn: TASK_ARN });
    received = ecs.received;
    replies = ecs.replies;
  });
  afterAll(() => ecs.close());
  beforeEach(() => {
    received.length = 0;
    replies.length = 0;
  });

  const options = (overrides: Partial<EcsLauncherOptions> = {}) => launcherOptions(ecs.endpoint, overrides);
  const request = launchRequest;

  const failure = async (promise: Promise<unknown>): Promise<LaunchError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LaunchError);
    return error as LaunchError;
  };

  it('sends a signed RunTask: network configuration, env overrides, startedBy, tags, clientToken', async () => {
    const launcher = createEcsLauncher(options());
    const result = await launcher.launch(request());
    expect(result).toEqual({ taskId: TASK_ARN });

    expect(received).toHaveLength(1); // maxAttempts 1: one request, no SDK retries
    const [call] = received;
    expect(call!.target).toBe(`${TARGET_PREFIX}RunTask`);
    expect(call!.contentType).toBe('application/x-amz-json-1.1');
    expect(call!.signatureValid).toBe(true);
    expect(call!.credentialScope).toMatch(/^\d{8}\/eu-west-1\/ecs\/aws4_request$/);
    expect(call!.body).toMatchObject({
      cluster: 'voice-workers',
      taskDefinition: 'voice-worker:7',
      launchType: 'FARGATE',
      count: 1,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-aaa', 'subnet-bbb'],
          securityGroups: ['sg-123'],
          assignPublicIp: 'ENABLED',
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: 'worker',
            environment: [
              { name: 'ROOM', value: 'support-room' },
              { name: 'SESSION_ID', value: 'sess-1' },
              { name: 'FUNCTIONS_URL', value: 'https://functions.example' },
              { name: 'WORKER_TOKEN', value: 'wt-1' },
            ],
          },
        ],
      },
      startedBy: 'support-room',
      tags: [
        { key: 'room', value: 'support-room' },
        { key: 'session-id', value: 'sess-1' },
      ],
    });
    expect(call!.body.capacityProviderStrategy).toBeUndefined();
    expect(call!.body.clientToken).toMatch(/^[!-~]{1,64}$/);
  });

  it('derives a clientToken that is stable per idempotency key and different across keys', async () => {
    const launcher = createEcsLauncher(options());
    await launcher.launch(request());
    await launcher.launch(request({ env: { ROOM: 'support-room', WORKER_TOKEN: 'another-token' } }));
    await launcher.launch(request({ idempotencyKey: 'RM_other' }));
    const long = 'x'.repeat(500) + ' ünïcode key';
    await launcher.launch(request({ idempotencyKey: long }));

    const tokens = received.map((r) => r.body.clientToken as string);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
    for (const token of tokens) expect(token).toMatch(/^[!-~]{1,64}$/);
  });

  it('keeps startedBy within ECS rules (<= 36 of A-Z a-z 0-9 - / _); uses a capacity provider', async () => {
    const launcher = createEcsLauncher(options({ capacityProvider: 'FARGATE_SPOT', assignPublicIp: false }));
    await launcher.launch(request({ room: 'Sales: Q3 review / ünïcode room name that is far too long for ECS' }));
    await launcher.launch(request({ room: '!!!' }));

    for (const { body } of received) {
      expect(body.startedBy).toMatch(/^[A-Za-z0-9_/-]{1,36}$/);
      expect(body.launchType).toBeUndefined();
      expect(body.capacityProviderStrategy).toEqual([{ capacityProvider: 'FARGATE_SPOT', weight: 1 }]);
      expect(body.networkConfiguration.awsvpcConfiguration.assignPublicIp).toBe('DISABLED');
    }
    expect(received[0]!.body.startedBy).toBe('Sales--Q3-review-/--n-code-room-name');
  });

  it('turns failures[] in a 200 into a LaunchError: capacity is retryable, MISSING is not', async () => {
    const launcher = createEcsLauncher(options());
    replies.push({ status: 200, body: { tasks: [], failures: [{ arn: 'arn:x', reason: 'RESOURCE:MEMORY' }] } });
    const capacity = await failure(launcher.launch(request()));
    expect(capacity.retryable).toBe(true);
    expect(capacity.message).toContain('RESOURCE:MEMORY');

    replies.push({ status: 200, body: { tasks: [], failures: [{ arn: 'arn:x', reason: 'MISSING' }] } });
    const missing = await failure(launcher.launch(request()));
    expect(missing.retryable).toBe(false);
    expect(missing.message).toContain('MISSING');
  });

  it('classifies SDK errors: throttling and 500 retryable, access denied and bad parameters not', async () => {
    const launcher = createEcsLauncher(options());
    replies.push(ecsError('ThrottlingException', 'Rate exceeded'));
    const throttled = await failure(launcher.launch(request()));
    expect(throttled.retryable).toBe(true);
    expect(throttled.message).toMatch(/ThrottlingException/);

    replies.push(ecsError('AccessDeniedException', 'not authorized to perform: ecs:RunTask'));
    const denied = await failure(launcher.launch(request()));
    expect(denied.retryable).toBe(false);
    expect(denied.message).toMatch(/AccessDeniedException/);

    replies.push(ecsError('InvalidParameterException', 'subnet not found'));
    expect((await failure(launcher.launch(request()))).retryable).toBe(false);

    replies.push(ecsError('ClusterNotFoundException', 'Cluster not found.'));
    expect((await failure(launcher.launch(request()))).retryable).toBe(false);

    replies.push(ecsError('ServerException', 'internal', 500));
    expect((await failure(launcher.launch(request()))).retryable).toBe(true);

    replies.push({ status: 503, body: {} });
    expect((await failure(launcher.launch(request()))).retryable).toBe(true);

    expect(received).toHaveLength(6); // one request per launch: retries are the caller's
  });

  it('returns the task ECS already started for this clientToken when it reports a conflict', async () => {
    const launcher = createEcsLauncher(options());
    const existing = `${TASK_ARN.slice(0, -4)}beef`;
    replies.push({
      status: 400,
      body: { __type: 'ConflictException', message: 'clientToken already used', resourceIds: [existing] },
    });
    expect(await launcher.launch(request())).toEqual({ taskId: existing });
  });

  it('aborts a call ECS never answers, at the launcher timeout or at the caller signal, as retryable', async () => {
    replies.push('hang');
    const timedOut = await failure(createEcsLauncher(options({ requestTimeoutMs: 200 })).launch(request()));
    expect(timedOut.retryable).toBe(true);
    expect(timedOut.message).toMatch(/timed out after 200 ms/);

    replies.push('hang');
    const aborted = await failure(createEcsLauncher(options()).launch(request(), AbortSignal.timeout(200)));
    expect(aborted.retryable).toBe(true);
    expect(aborted.message).toMatch(/aborted by the caller/);
  });

  it('reports an unreachable endpoint as retryable', async () => {
    const port = await closedPort();
    const error = await failure(createEcsLauncher(options({ endpoint: `http://127.0.0.1:${port}` })).launch(request()));
    expect(error.retryable).toBe(true);
  });

  it('refuses an env too large for ECS overrides before sending anything, naming the problem', async () => {
    const launcher = createEcsLauncher(options());
    const error = await failure(
      launcher.launch(request({ env: { ROOM: 'support-room', SYSTEM_PROMPT: 'y'.repeat(9_000) } })),
    );
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/8192/);
    expect(error.message).toContain('SYSTEM_PROMPT');
    expect(error.message).not.toContain('yyyy');
    expect(received).toHaveLength(0);
  });

  it('stops a task with a signed StopTask, a bounded reason, and treats an already gone task as success', async () => {
    const launcher = createEcsLauncher(options());
    replies.push({ status: 200, body: { task: { taskArn: TASK_ARN, lastStatus: 'STOPPED' } } });
    await launcher.stop(TASK_ARN, 'room finished: '.repeat(40));
    expect(received[0]!.target).toBe(`${TARGET_PREFIX}StopTask`);
    expect(received[0]!.signatureValid).toBe(true);
    expect(received[0]!.body.cluster).toBe('voice-workers');
    expect(received[0]!.body.task).toBe(TASK_ARN);
    expect((received[0]!.body.reason as string).length).toBeLessThanOrEqual(255);
    expect(received[0]!.body.reason).toMatch(/^room finished: /);

    replies.push(ecsError('InvalidParameterException', 'The referenced task was not found.'));
    await expect(launcher.stop(TASK_ARN, 'again')).resolves.toBeUndefined();

    replies.push(ecsError('AccessDeniedException', 'not authorized to perform: ecs:StopTask'));
    expect((await failure(launcher.stop(TASK_ARN, 'denied'))).retryable).toBe(false);

    replies.push(ecsError('ThrottlingException', 'Rate exceeded'));
    expect((await failure(launcher.stop(TASK_ARN, 'throttled'))).retryable).toBe(true);
  });

  it('check() reports a complete configuration without secrets, and names what is missing', async () => {
    const ok = await createEcsLauncher(options()).check();
    expect(ok).toMatchObject({ ok: true, kind: 'ecs' });
    expect(ok.detail).toContain('voice-workers');
    expect(ok.detail).not.toContain(CREDENTIALS.secretAccessKey);
    expect(ok.detail).not.toContain(CREDENTIALS.accessKeyId);

    const incomplete = createEcsLauncher(
      options({ cluster: '', subnets: [], credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: '' } }),
    );
    const bad = await incomplete.check();
    expect(bad.ok).toBe(false);
    expect(bad.detail).toMatch(/ECS_CLUSTER/);
    expect(bad.detail).toMatch(/ECS_SUBNETS/);
    expect(bad.detail).toMatch(/AWS_SECRET_ACCESS_KEY/);
    expect(bad.detail).not.toContain(CREDENTIALS.accessKeyId);

    const error = await failure(incomplete.launch(request()));
    expect(error.retryable).toBe(false);
    expect(received).toHaveLength(0);
  });
});

describe('ECS launcher inside workerd (bundled by wrangler, run by Miniflare)', () => {
  let ecs: FakeEcs;
  let workDir: string;
  let mf: Miniflare;

  beforeAll(async () => {
    ecs = await startFakeEcs({ credentials: CREDENTIALS, taskArn: TASK_ARN });
    workDir = mkdtempSync(join(tmpdir(), 'ecs-launcher-workerd-'));
    const settings = parse(readFileSync(join(REPO_ROOT, 'wrangler.toml'), 'utf8')) as {
      compatibility_date: string;
      compatibility_flags?: string[];
    };
    writeFileSync(
      join(workDir, 'wrangler.toml'),
      stringify({
        name: 'ecs-launcher-check',
        main: join(REPO_ROOT, 'test/fixtures/ecs-launcher-worker.ts'),
        compatibility_date: settings.compatibility_date,
        compatibility_flags: settings.compatibility_flags ?? [],
      }),
    );
    // Exactly the bundling `wrangler deploy` does (conditions, nodejs_compat shims), so the SDK picks its
    // fetch-based handler as it will in production.
    await promisify(execFile)(
      process.execPath,
      [WRANGLER_BIN, 'deploy', '--dry-run', '--outdir', join(workDir, 'dist'), '--config', 'wrangler.toml'],
      { cwd: workDir, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG: 'warn' }, timeout: 50_000 },
    );
    mf = new Miniflare({
      modules: true,
      scriptPath: join(workDir, 'dist', 'ecs-launcher-worker.js'),
      modulesRoot: join(workDir, 'dist'),
      compatibilityDate: settings.compatibility_date,
      compatibilityFlags: settings.compatibility_flags ?? [],
    });
    await mf.ready;
  });

  afterAll(async () => {
    await mf?.dispose();
    await ecs?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    ecs.received.length = 0;
    ecs.replies.length = 0;
  });

  type Outcome = { taskId?: string; stopped?: boolean; error?: { message: string; retryable: boolean } };
  const run = async (command: object): Promise<Outcome> => {
    const response = await mf.dispatchFetch('http://launcher.test/', { method: 'POST', body: JSON.stringify(command) });
    expect(response.status).toBe(200);
    return (await response.json()) as Outcome;
  };
  const launch = (overrides: Partial<EcsLauncherOptions> = {}) =>
    run({ options: launcherOptions(ecs.endpoint, overrides), action: 'launch', request: launchRequest() });

  it('sends the same signed RunTask and returns the task ARN', async () => {
    expect(await launch()).toEqual({ taskId: TASK_ARN });
    expect(ecs.received).toHaveLength(1);
    expect(ecs.received[0]).toMatchObject({
      target: `${TARGET_PREFIX}RunTask`,
      contentType: 'application/x-amz-json-1.1',
      signatureValid: true,
    });
    expect(ecs.received[0]!.body.overrides.containerOverrides[0].environment).toContainEqual({
      name: 'WORKER_TOKEN',
      value: 'wt-1',
    });
  });

  it('classifies the same way: network and timeout retryable, throttling retryable, access denied not', async () => {
    const unreachable = await launch({ endpoint: `http://127.0.0.1:${await closedPort()}` });
    expect(unreachable.error?.retryable).toBe(true);

    ecs.replies.push('hang');
    const timedOut = await launch({ requestTimeoutMs: 300 });
    expect(timedOut.error).toMatchObject({ retryable: true });
    expect(timedOut.error?.message).toMatch(/timed out after 300 ms/);

    ecs.replies.push(ecsError('ThrottlingException', 'Rate exceeded'));
    expect((await launch()).error?.retryable).toBe(true);

    ecs.replies.push(ecsError('AccessDeniedException', 'not authorized'));
    expect((await launch()).error?.retryable).toBe(false);
  });

  it('stops a task, treating one ECS no longer knows as stopped', async () => {
    ecs.replies.push(ecsError('InvalidParameterException', 'The referenced task was not found.'));
    const outcome = await run({
      options: launcherOptions(ecs.endpoint),
      action: 'stop',
      taskId: TASK_ARN,
      reason: 'room finished',
    });
    expect(outcome).toEqual({ stopped: true });
    expect(ecs.received[0]).toMatchObject({ target: `${TARGET_PREFIX}StopTask`, signatureValid: true });
  });
});
