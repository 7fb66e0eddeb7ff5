// The worker's container health check endpoint.
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, type HealthServer } from '../../worker/health-server.ts';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('worker GET /health', () => {
  it('answers 200 with the snapshot while healthy, 503 when not, 404 elsewhere', async () => {
    let ok = true;
    server = await startHealthServer(0, () => ({ ok, state: 'listening' }), '127.0.0.1');
    const base = `http://127.0.0.1:${server.port}`;
    const healthy = await fetch(`${base}/health`);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ ok: true, state: 'listening' });
    ok = false;
    expect((await fetch(`${base}/health?x=1`)).status).toBe(503);
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/health`, { method: 'POST' })).status).toBe(404);
  });
});
