// The Workers entry point: HTTP through the Hono app, the cron through the reconcile sweep.
import { createApp } from './app.ts';
import { configFrom } from './config.ts';
import { buildDeps } from './deps.ts';
import { describeError, log } from './observability/log.ts';
import { reconcile } from './sessions/reconcile.ts';

interface ScheduledEvent {
  scheduledTime: number;
  cron: string;
}

interface WaitUntilContext {
  waitUntil(promise: Promise<unknown>): void;
}

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(event: ScheduledEvent, env: Record<string, unknown>, ctx: WaitUntilContext): Promise<void> {
    const deps = buildDeps(configFrom(env), (p) => ctx.waitUntil(p), () => Math.max(Date.now(), event.scheduledTime));
    try {
      await reconcile(deps);
    } catch (err) {
      log('error', 'reconcile_failed', { cron: event.cron, reason: describeError(err) });
      throw err;
    }
  },
};
