// The functions' worker API as far as a launched worker needs it, answering at once: the bootstrap (session token,
// a room token minted here, the session), a fresh room token on request, and 200 to every report. Nothing but the
// agent differs from a launch.
import { createServer, type Server } from 'node:http';
import { mintAgentToken } from '../../../worker/transport/livekit-token.ts';
import type { LiveKitServer } from '../../support/livekit-server.ts';
import { SYSTEM_PROMPT } from './prompt.ts';

export interface StubFunctions {
  url: string;
  bootstrapToken: string;
  close(): Promise<void>;
}

export async function startStubFunctions(
  livekit: LiveKitServer,
  room: string,
  sessionId: string,
  providers: { stt: string[]; llm: string[]; tts: string[] },
): Promise<StubFunctions> {
  const identity = `agent-${sessionId}`;
  const session = {
    sessionId,
    room,
    providers,
    systemPrompt: SYSTEM_PROMPT,
    greeting: '',
    history: [],
  };
  const join = async () => ({
    url: livekit.url,
    token: await mintAgentToken({ apiKey: livekit.apiKey, apiSecret: livekit.apiSecret, room, identity, name: 'Voice agent' }),
    identity,
    expiresAtMs: Date.now() + 15 * 60_000,
  });
  const answer = async (method: string | undefined, path: string | undefined): Promise<unknown> => {
    if (method === 'POST' && path === '/v1/worker/bootstrap') {
      return { workerToken: 'bench-worker-token-0123456789', workerTokenExpiresAtMs: Date.now() + 3_600_000, livekit: await join(), session };
    }
    if (method === 'GET' && path === '/v1/worker/session') return session;
    if (method === 'GET' && path === '/v1/worker/livekit-token') return join();
    return {};
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      void answer(req.method, req.url?.split('?')[0]).then(
        (body) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: String(error) }));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    bootstrapToken: 'bench-bootstrap-credential-0123456789',
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
