// GET /v1/sessions and /v1/sessions/:id: what the control plane believes about each live conversation, including
// the launch state (attempts, last error, next retry), for operators and dashboards.
import { Hono } from 'hono';
import { requireOperatorKey } from '../http/auth.ts';
import { httpError } from '../http/errors.ts';
import type { AppEnv } from '../http/env.ts';
import { orUnavailable } from '../http/unavailable.ts';
import type { SessionRecord } from '../sessions/record.ts';
import { getSession, getSessions, listActiveSessionIds } from '../sessions/store.ts';

// The system prompt can be long and is configuration, not state: leave it out of listings.
function publicView(s: SessionRecord): Omit<SessionRecord, 'systemPrompt'> {
  const { systemPrompt: _omitted, ...rest } = s;
  return rest;
}

export const sessionRoutes = new Hono<AppEnv>()
  .use(requireOperatorKey)
  .get('/', async (c) => {
    const { redis } = c.var.deps;
    const sessions = await orUnavailable('session state', async () => {
      const ids = await listActiveSessionIds(redis, 200);
      const records = await getSessions(redis, ids);
      return records.filter((s): s is SessionRecord => s !== null);
    });
    return c.json({ sessions: sessions.map(publicView) });
  })
  .get('/:id', async (c) => {
    const id = c.req.param('id');
    const session = await orUnavailable('session state', () => getSession(c.var.deps.redis, id));
    if (!session) throw httpError(404, 'session_not_found', `no session ${id}`);
    return c.json(publicView(session));
  });
