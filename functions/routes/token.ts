// POST /v1/token: a short-lived LiveKit token for one person in one room, for client applications. A client key
// bound to a room prefix mints only for rooms under it; when the platform is at MAX_CONCURRENT_SESSIONS, a
// new token is refused with a 503 that says so (a caller who could not get an agent would only wait).
import { Hono } from 'hono';
import { z } from 'zod';
import { requireClientKey } from '../http/auth.ts';
import { httpError } from '../http/errors.ts';
import type { AppEnv } from '../http/env.ts';
import { readJson } from '../http/validate.ts';
import { checkTokenRateLimit } from '../http/rate-limit.ts';
import { mintClientToken } from '../livekit/tokens.ts';
import { countLater } from '../observability/counters.ts';
import { describeError, log } from '../observability/log.ts';
import { countActiveSessions } from '../sessions/store.ts';
import type { Deps } from '../deps.ts';

/**
 * What LiveKit accepts as a room name or identity: any text, including SIP's long `_+15551234567_AbC…` rooms. We only
 * refuse what would break a log line or a header (control characters) and surrounding spaces, and bound the length.
 */
export const livekitName = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters')
  .refine((s) => s.trim() === s, 'must not start or end with spaces');

export const tokenRequestSchema = z.object({
  room: livekitName,
  identity: livekitName,
  name: z.string().min(1).max(128).optional(),
  metadata: z.string().max(4_096).optional(),
  ttlSeconds: z.number().int().min(60).optional(),
});

/** True when the platform cannot take another session; unknown (Redis down) counts as room to spare. */
async function atCapacity(deps: Deps): Promise<boolean> {
  try {
    return (await countActiveSessions(deps.redis)) >= deps.config.maxConcurrentSessions;
  } catch (err) {
    log('warn', 'capacity_unknown', { reason: describeError(err) });
    return false;
  }
}

export const tokenRoutes = new Hono<AppEnv>().post('/', requireClientKey, async (c) => {
  const deps = c.var.deps;
  const { config } = deps;
  const body = await readJson(c, tokenRequestSchema);
  if (body.identity.startsWith(config.agentIdentityPrefix)) {
    throw httpError(400, 'invalid_body', `identity: must not start with "${config.agentIdentityPrefix}" (reserved for the agent)`);
  }
  const prefix = c.var.key.roomPrefix;
  if (prefix !== undefined && !body.room.startsWith(prefix)) {
    throw httpError(403, 'forbidden', `this key mints tokens only for rooms whose name starts with "${prefix}"`);
  }
  const ttlSeconds = body.ttlSeconds ?? config.token.defaultTtlSeconds;
  if (ttlSeconds > config.token.maxTtlSeconds) {
    throw httpError(400, 'invalid_body', `ttlSeconds: at most ${config.token.maxTtlSeconds}`);
  }

  const clientIp = c.req.header('cf-connecting-ip') ?? 'unknown';
  const decision = await checkTokenRateLimit(deps, c.var.appKeyId, clientIp);
  if (!decision.allowed) {
    countLater(deps, 'tokens_rate_limited_total', { by: decision.limitedBy ?? 'key' });
    throw httpError(429, 'rate_limited', `too many tokens requested; retry in ${decision.retryAfterSeconds} s`, {
      'retry-after': String(decision.retryAfterSeconds),
    });
  }
  if (await atCapacity(deps)) {
    countLater(deps, 'tokens_refused_total', { reason: 'at_capacity' });
    throw httpError(503, 'at_capacity', `all ${config.maxConcurrentSessions} agents are busy (MAX_CONCURRENT_SESSIONS); try again in a minute`, {
      'retry-after': '30',
    });
  }

  const token = await mintClientToken(config.livekit, { ...body, ttlSeconds });
  const expiresAt = new Date(deps.nowMs() + ttlSeconds * 1000).toISOString();
  countLater(deps, 'tokens_issued_total', {});
  return c.json({ token, url: config.livekit.publicUrl, room: body.room, identity: body.identity, expiresAt });
});
