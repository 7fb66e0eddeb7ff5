// The control API under /__fake/ on each fake's own port: lets another process (npm run fakes users, the console demo,
// benchmarks) queue faults, script answers, change the latency profile and read what the fake received.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { queuedFaultSchema } from './faults.ts';
import { profileInputSchema } from './profile.ts';
import type { FakeServer } from './server.ts';
import { sendJson } from './stream.ts';

const faultsBody = z.object({ faults: z.array(queuedFaultSchema), intoOpen: z.boolean().optional() });
const scriptBody = z.object({ replies: z.array(z.string()).optional(), transcripts: z.array(z.string()).optional() });

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * GET  /__fake            -> { name, profile, pendingFaults, replies, transcripts, requestCount }
 * GET  /__fake/requests   -> { requests: RecordedRequest[] }
 * POST /__fake/faults     { faults: QueuedFault[], intoOpen? }   appends to the fault queue; intoOpen: arms chunk faults
 *                          on the route's open websockets now (FaultQueue.injectOpen) -> { armed }
 * POST /__fake/script     { replies?: string[], transcripts?: string[] }  appends to the script queues
 * POST /__fake/profile    "realistic" | { preset?, ttfbMs?, tokensPerSecond?, audioRealtimeFactor?, chunkMs? }
 * POST /__fake/reset      clears faults, script and requests, restores the starting profile
 */
export function handleControl(fake: FakeServer, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
  const action = `${req.method} ${url.pathname.replace(/\/$/, '')}`;
  const json = parseJson(body);
  const invalid = (error: z.ZodError | string) =>
    sendJson(res, 400, { error: typeof error === 'string' ? error : z.prettifyError(error) });
  if (json === undefined) return invalid('body is not JSON');

  switch (action) {
    case 'GET /__fake':
      return sendJson(res, 200, {
        name: fake.name,
        profile: fake.profile,
        pendingFaults: fake.faults.pending,
        replies: fake.script.replies,
        transcripts: fake.script.transcripts,
        requestCount: fake.requests.length,
      });
    case 'GET /__fake/requests':
      return sendJson(res, 200, { requests: fake.requests });
    case 'POST /__fake/faults': {
      const parsed = faultsBody.safeParse(json);
      if (!parsed.success) return invalid(parsed.error);
      if (parsed.data.intoOpen) {
        let armed = 0;
        for (const { route, times: _times, ...fault } of parsed.data.faults) {
          if (!route || !('chunks' in fault)) return invalid('intoOpen takes chunk faults (stallAfter, destroyAfter, truncateAfter, midStreamError) with a route');
          armed += fake.faults.injectOpen(route, fault);
        }
        return sendJson(res, 200, { armed, pendingFaults: fake.faults.pending });
      }
      fake.faults.push(...parsed.data.faults);
      return sendJson(res, 200, { pendingFaults: fake.faults.pending });
    }
    case 'POST /__fake/script': {
      const parsed = scriptBody.safeParse(json);
      if (!parsed.success) return invalid(parsed.error);
      fake.script.pushReplies(...(parsed.data.replies ?? []));
      fake.script.pushTranscripts(...(parsed.data.transcripts ?? []));
      return sendJson(res, 200, { replies: fake.script.replies, transcripts: fake.script.transcripts });
    }
    case 'POST /__fake/profile': {
      const parsed = profileInputSchema.safeParse(json);
      if (!parsed.success) return invalid(parsed.error);
      fake.setProfile(parsed.data);
      return sendJson(res, 200, { profile: fake.profile });
    }
    case 'POST /__fake/reset':
      fake.reset();
      return sendJson(res, 200, { ok: true });
    default:
      return sendJson(res, 404, { error: `unknown control action ${action}` });
  }
}
