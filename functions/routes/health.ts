// GET /health: shallow and public (the process is up and its configuration parses), for load balancers; it touches
// nothing, so it cannot be used to load Redis, LiveKit or the launcher. GET /health/deep, behind an operator key:
// can this control plane do its job? Redis, LiveKit's server API and the launcher, each bounded in time.
import { Hono } from 'hono';
import { requireOperatorKey } from '../http/auth.ts';
import type { AppEnv } from '../http/env.ts';
import { roomService } from '../livekit/rooms.ts';
import { describeError } from '../observability/log.ts';

interface Check {
  ok: boolean;
  latencyMs: number;
  detail: string;
}

const LIVEKIT_TIMEOUT_MS = 2_000;
const LAUNCHER_TIMEOUT_MS = 2_000;

async function timed(work: () => Promise<string>): Promise<Check> {
  const started = Date.now();
  try {
    const detail = await work();
    return { ok: true, latencyMs: Date.now() - started, detail };
  } catch (err) {
    return { ok: false, latencyMs: Date.now() - started, detail: describeError(err) };
  }
}

export const healthRoutes = new Hono<AppEnv>()
  .get('/', (c) => c.json({ status: 'ok', deep: '/health/deep (operator key)' }))
  .get('/deep', requireOperatorKey, async (c) => {
    const { config, redis, launcher } = c.var.deps;
    const [redisCheck, livekitCheck, launcherCheck] = await Promise.all([
      timed(async () => {
        const pong = await redis.ping();
        if (String(pong) !== 'PONG') throw new Error(`unexpected PING reply ${String(pong).slice(0, 20)}`);
        return 'PONG';
      }),
      timed(async () => {
        const rooms = await roomService(config.livekit, LIVEKIT_TIMEOUT_MS).listRooms();
        return `RoomService answered (${rooms.length} rooms)`;
      }),
      timed(async () => {
        const check = await launcher.check(AbortSignal.timeout(LAUNCHER_TIMEOUT_MS));
        if (!check.ok) throw new Error(check.detail);
        return `${check.kind}: ${check.detail}`;
      }),
    ]);
    const checks = { redis: redisCheck, livekit: livekitCheck, launcher: launcherCheck };
    const ok = Object.values(checks).every((x) => x.ok);
    return c.json({ status: ok ? 'ok' : 'unhealthy', checks }, ok ? 200 : 503);
  });
