// `npm run dev` as a user runs it: redis-server, the stand-in, the launcher and `wrangler dev`, then a signed webhook
// through the whole stack starts a worker process, and Ctrl-C (SIGTERM) takes everything down.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook, webhookBody } from '../support/livekit.ts';
import { REPO_ROOT, RECORDING_WORKER_COMMAND } from '../support/local-launcher.ts';
import { closedPort } from '../fakes/kit/server.ts';
import { waitFor } from '../support/wait.ts';

const portOpen = (port: number) =>
  new Promise<boolean>((done) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), done(true)));
    s.once('error', () => done(false));
  });

describe('npm run dev', () => {
  let dir: string;
  let child: ChildProcess;
  let output = '';
  let ports: { redis: number; standIn: number; launcher: number; functions: number };
  let exited: Promise<number | null>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dev-stack-'));
    ports = { redis: await closedPort(), standIn: await closedPort(), launcher: await closedPort(), functions: await closedPort() };
    const envFile = join(dir, 'dev.vars');
    writeFileSync(
      envFile,
      [
        'LIVEKIT_URL=ws://127.0.0.1:7880',
        'LIVEKIT_API_KEY=devkey',
        'LIVEKIT_API_SECRET=secret',
        'APP_API_KEYS=dev-app-key',
        `REDIS_URL=redis://127.0.0.1:${ports.redis}`,
        `UPSTASH_REDIS_REST_URL=http://127.0.0.1:${ports.standIn}`,
        'UPSTASH_REDIS_REST_TOKEN=dev-upstash-token',
        'LAUNCHER=local',
        `LOCAL_LAUNCHER_URL=http://127.0.0.1:${ports.launcher}`,
        'LOCAL_LAUNCHER_TOKEN=dev-launcher-token-0123456789',
        `LOCAL_WORKER_COMMAND=${RECORDING_WORKER_COMMAND}`,
        `FIXTURE_OUT_DIR=${dir}`,
        `FUNCTIONS_PUBLIC_URL=http://127.0.0.1:${ports.functions}`,
        `DEV_FUNCTIONS_PORT=${ports.functions}`,
        'WORKER_TOKEN_SECRET=dev-worker-token-secret-not-for-production',
      ].join('\n'),
    );
    child = spawn(process.execPath, ['scripts/dev.ts'], { cwd: REPO_ROOT, env: { ...process.env, DEV_ENV_FILE: envFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    exited = new Promise((done) => child.once('exit', (code) => done(code)));
    await waitFor('the dev stack to be ready', () => {
      if (child.exitCode !== null) throw new Error(`npm run dev exited early:\n${output}`);
      return output.includes('"event":"dev_stack_ready"');
    }, 90_000, 200);
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints what runs where', () => {
    expect(output).toContain(`http://127.0.0.1:${ports.functions}`);
    expect(output).toMatch(/redis-server started here/);
    expect(output).not.toContain('dev-upstash-token');
  });

  it('serves /health with Redis and the launcher up (LiveKit is not started by the stack)', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.functions}/health`);
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks.redis?.ok).toBe(true);
    expect(body.checks.launcher?.ok).toBe(true);
    expect(body.checks.livekit?.ok).toBe(false);
    expect(res.status).toBe(503);
  });

  it('issues tokens and launches a worker for a signed webhook', async () => {
    const tokenRes = await fetch(`http://127.0.0.1:${ports.functions}/v1/token`, {
      method: 'POST',
      headers: { authorization: 'Bearer dev-app-key', 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'dev-room', identity: 'dev-user' }),
    });
    expect(tokenRes.status).toBe(200);
    const { token } = (await tokenRes.json()) as { token: string };
    expect((await new TokenVerifier('devkey', 'secret').verify(token)).video?.room).toBe('dev-room');

    const body = webhookBody({ event: 'participant_joined', room: { name: 'dev-room' }, participant: { identity: 'dev-user' } });
    const hook = await fetch(`http://127.0.0.1:${ports.functions}/v1/webhooks/livekit`, {
      method: 'POST',
      headers: { authorization: await signWebhook(body), 'content-type': 'application/webhook+json' },
      body,
    });
    expect(hook.status).toBe(200);
    await waitFor('the launched worker to record its env', () => readdirSync(dir).some((f) => /^\d+\.json$/.test(f)), 20_000);
  });

  it('stops everything on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const port of Object.values(ports)) expect(await portOpen(port)).toBe(false);
  });
});
