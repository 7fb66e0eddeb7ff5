// POST /v1/token: a short-lived LiveKit token for one person in one room, for client applications.
import { Hono } from 'hono';
import { AccessToken } from 'livekit-server-sdk';
import { z } from 'zod';
import { requireAppKey } from '../http/auth.ts';
import { httpError } from '../http/errors.ts';
import type { AppEnv } from '../http/env.ts';
import { readJson } from '../http/validate.ts';
import { checkTokenRateLimit } from '../http/rate-limit.ts';
import { countLater } from '../observability/counters.ts';

// Characters every LiveKit SDK, URL and log line handles without escaping.
const safeName = /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/;

export const tokenRequestSchema = z.object({
  room: z.string().min(1).max(128).regex(safeName, 'use letters, digits and . _ : @ - (starting with a letter or digit)'),
  identity: z.string().min(1).max(128).regex(safeName, 'use letters, digits and . _ : @ - (starting with a letter or digit)'),
  name: z.string().min(1).max(128).optional(),
  metadata: z.string().max(4_096).optional(),
  ttlSeconds: z.number().int().min(60).optional(),
});

export const tokenRoutes = new Hono<AppEnv>().post('/', requireAppKey, async (c) => {
  const { config } = c.var.deps;
  const body = await readJson(c, tokenRequestSchema);
  if (body.identity.startsWith(config.agentIdentityPrefix)) {
    throw httpError(400, 'invalid_body', `identity: must not start with "${config.agentIdentityPrefix}" (reserved for the agent)`);
  }
  const ttlSeconds = body.ttlSeconds ?? config.token.defaultTtlSeconds;
  if (ttlSeconds > config.token.maxTtlSeconds) {
    throw httpError(400, 'invalid_body', `ttlSeconds: at most ${config.token.maxTtlSeconds}`);
  }

  const clientIp = c.req.header('cf-connecting-ip') ?? 'unknown';
  const decision = await checkTokenRateLimit(c.var.deps, c.var.appKeyId, clientIp);
  if (!decision.allowed) {
    countLater(c.var.deps, 'tokens_rate_limited_total', { by: decision.limitedBy ?? 'key' });
    throw httpError(429, 'rate_limited', `too many tokens requested; retry in ${decision.retryAfterSeconds} s`, {
      'retry-after': String(decision.retryAfterSeconds),
    });
  }

  const at = new AccessToken(config.livekit.apiKey, config.livekit.apiSecret, {
    identity: body.identity,
    ttl: ttlSeconds,
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
  });
  at.addGrant({ roomJoin: true, room: body.room, canPublish: true, canSubscribe: true, canPublishData: true });
  const token = await at.toJwt();
  const expiresAt = new Date(c.var.deps.nowMs() + ttlSeconds * 1000).toISOString();
  countLater(c.var.deps, 'tokens_issued_total', {});
  return c.json({ token, url: config.livekit.publicUrl, room: body.room, identity: body.identity, expiresAt });
});
