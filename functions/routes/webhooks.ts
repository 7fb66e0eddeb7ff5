// POST /v1/webhooks/livekit: verified, deduplicated by event id, answered fast (launches run after the response).
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { httpError } from '../http/errors.ts';
import type { AppEnv } from '../http/env.ts';
import { countLater } from '../observability/counters.ts';
import { describeError, log } from '../observability/log.ts';
import { keys, WEBHOOK_DEDUP_TTL_SECONDS } from '../redis/keys.ts';
import { handleEvent } from '../webhooks/handle-event.ts';
import { verifyWebhook } from '../webhooks/verify.ts';

export const WEBHOOK_MAX_BODY_BYTES = 64 * 1024;

/** True when this id was seen before; null when Redis could not tell (then we act: launches are idempotent anyway). */
async function seenBefore(redis: AppEnv['Variables']['deps']['redis'], eventId: string): Promise<boolean | null> {
  try {
    const set = await redis.set(keys.webhookEvent(eventId), '1', { nx: true, ex: WEBHOOK_DEDUP_TTL_SECONDS });
    return set === null;
  } catch (err) {
    log('warn', 'webhook_dedup_unavailable', { reason: describeError(err) });
    return null;
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
    const verified = await verifyWebhook(raw, c.req.header('authorization'), deps.config.livekit.apiKey, deps.config.livekit.apiSecret);
    if (!verified.ok) {
      countLater(deps, 'webhook_events_total', { event: 'unknown', result: verified.status === 401 ? 'unauthorized' : 'malformed' });
      throw httpError(verified.status, verified.status === 401 ? 'unauthorized' : 'invalid_body', verified.message);
    }
    const event = verified.event;
    const eventName = event.event || 'unknown';
    if (event.id) {
      const seen = await seenBefore(deps.redis, event.id);
      if (seen) {
        countLater(deps, 'webhook_events_total', { event: eventName, result: 'duplicate' });
        return c.json({ ok: true, event: eventName, action: 'duplicate' });
      }
    }
    let outcome;
    try {
      outcome = await handleEvent(deps, event);
    } catch (err) {
      // Forget the id so LiveKit's retry of this delivery is processed, not deduplicated away.
      if (event.id) await deps.redis.del(keys.webhookEvent(event.id)).catch(() => undefined);
      countLater(deps, 'webhook_events_total', { event: eventName, result: 'error' });
      log('error', 'webhook_event_failed', { webhookEvent: eventName, eventId: event.id, reason: describeError(err) });
      throw httpError(503, 'unavailable', 'the event could not be processed now; retry later');
    }
    countLater(deps, 'webhook_events_total', { event: eventName, result: outcome.action });
    log('info', 'webhook_event', { webhookEvent: eventName, eventId: event.id, room: event.room?.name, action: outcome.action });
    return c.json({ ok: true, event: eventName, ...outcome });
  },
);
