// Tests that need LiveKit start the real server (built by `npm run setup` into .tools/bin) as a plain process on
// loopback; they never skip for want of one. A missing binary fails the test with the command that builds it.
import { startLiveKitServer, type LiveKitServer, type LiveKitServerOptions } from '../../infra/local/livekit/server.ts';

export type { LiveKitServer };

/** A real livekit-server for one test file; its log tail is printed when the start fails. */
export async function startTestLiveKit(options: LiveKitServerOptions = {}): Promise<LiveKitServer> {
  // Tests don't wait out LiveKit's 5 min / 20 s room timeouts.
  return startLiveKitServer({ emptyTimeoutSeconds: 10, departureTimeoutSeconds: 1, ...options });
}
