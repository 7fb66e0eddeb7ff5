// POST /v1/webhooks/livekit: verified, deduplicated by event id, answered fast (launches run after the response).
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { httpError } from '../http/errors.ts';
import type { AppEnv } from '../http/env.ts';
import { countAuthFailure } from '../observability/auth-failures.ts';
import { countLater } from '../observability/counters.ts';
import { describeError, log } from '../observability/log.ts';
import { keys, WEBHOOK_DEDUP_TTL_SECONDS } from '../redis/keys.ts';
import { handleEvent } from '../webhooks/handle-event.ts';
import { verifyWebhook } from '../webhooks/verify.ts';

export const WEBHOOK_MAX_BODY_BYTES = 64 * 1024;

/** True when this id was processed before; null when Redis could not tell (then we act: launches are idempotent). */
async function processedBefore(redis: AppEnv['Variables']['deps']['redis'], eventId: string): Promise<boolean | null> {
  try {
    return Number(await redis.exists(keys.webhookEvent(eventId))) === 1;
  } catch (err) {
    log('warn', 'webhook_dedup_unavailable', { reason: describeError(err) });
    return null;
  }
}

/**
 * Marks the id only once its event was processed: a crash in between leaves it unmarked, so LiveKit's redelivery is
 * processed rather than deduplicated away. Two deliveries racing both process; the atomic room claim keeps that safe.
 */
async function markProcessed(redis: AppEnv['Variables']['deps']['redis'], eventId: string): Promise<void> {
  try {
    await redis.set(keys.webhookEvent(eventId), '1', { ex: WEBHOOK_DEDUP_TTL_SECONDS });
  } catch (err) {
    log('warn', 'webhook_dedup_unavailable', { reason: describeError(err) });
  }
}

export const webhookRoutes = new Hono<AppEnv>().post(
  '/livekit',
  bodyLimit({
    maxSize: WEBHOOK_MAX_BODY_BYTES,
    onError: () => {
      throw httpError(413, 'body_too_large', `webhook bodies are limited to ${WEBHOOK_MAX_BODY_BYTES} bytes`);
    },
  }),
  async (c) => {
    const deps = c.var.deps;
    const raw = await c.req.text();
    const { apiKey, apiSecret } = deps.config.livekit.webhook;
    const verified = await verifyWebhook(raw, c.req.header('authorization'), apiKey, apiSecret);
    if (!verified.ok) {
      // In memory only: an unsigned flood must not become a flood of Redis writes.
      countAuthFailure(verified.status === 401 ? 'webhook' : 'webhook_malformed');
      throw httpError(verified.status, verified.status === 401 ? 'unauthorized' : 'invalid_body', verified.message);
    }
    const event = verified.event;
    const eventName = event.event || 'unknown';
    if (event.id) {
      const seen = await processedBefore(deps.redis, event.id);
      if (seen) {
        countLater(deps, 'webhook_events_total', { event: eventName, result: 'duplicate' });
        return c.json({ ok: true, event: eventName, action: 'duplicate' });
      }
    }
    let outcome;
    try {
      outcome = await handleEvent(deps, event);
    } catch (err) {
      countLater(deps, 'webhook_events_total', { event: eventName, result: 'error' });
      log('error', 'webhook_event_failed', { webhookEvent: eventName, eventId: event.id, reason: describeError(err) });
      throw httpError(503, 'unavailable', 'the event could not be processed now; retry later');
    }
    if (event.id) await markProcessed(deps.redis, event.id);
    countLater(deps, 'webhook_events_total', { event: eventName, result: outcome.action });
    log('info', 'webhook_event', { webhookEvent: eventName, eventId: event.id, room: event.room?.name, action: outcome.action });
    return c.json({ ok: true, event: eventName, ...outcome });
  },
);
