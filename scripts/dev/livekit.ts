// LiveKit for `npm run dev`: the real livekit-server (built by scripts/build-livekit.sh) on LIVEKIT_URL's port, with
// the env file's keys and its webhooks pointed at the functions — unless something already answers at LIVEKIT_URL
// (a server you started yourself, docker compose), which is then used as it is.
import { startLiveKitServer, type LiveKitServer } from '../../infra/local/livekit/server.ts';
import { httpAnswers, portAnswers, tcpPortFree, udpPortFree } from './probe.ts';
import { DevConfigError, isLoopback, type DevSettings } from './settings.ts';

export interface DevLiveKit {
  /** Set when this script started the server (and so must stop it). */
  server: LiveKitServer | undefined;
  description: string;
}

export async function startOrReuseLiveKit(settings: DevSettings, webhookUrl: string): Promise<DevLiveKit> {
  const lk = settings.livekit;
  if (await httpAnswers(lk.httpUrl)) {
    return { server: undefined, description: `${lk.url} (already running, reused; its webhooks must reach ${webhookUrl})` };
  }
  if (!isLoopback(lk.host)) {
    // A remote server (LiveKit Cloud…) is not ours to start; say so rather than fail: tokens still work.
    console.warn(`LIVEKIT_URL ${lk.url} does not answer and is not on this machine: no LiveKit server is started`);
    return { server: undefined, description: `${lk.url} (remote, not answering; not started here)` };
  }
  const webhookKey = settings.env.LIVEKIT_WEBHOOK_API_KEY;
  if (webhookKey && webhookKey !== lk.apiKey) {
    // The server started here signs webhooks with LIVEKIT_API_KEY: the functions would reject every one.
    throw new DevConfigError('LIVEKIT_WEBHOOK_API_KEY differs from LIVEKIT_API_KEY, but the LiveKit server started here signs webhooks with LIVEKIT_API_KEY: unset LIVEKIT_WEBHOOK_API_KEY and LIVEKIT_WEBHOOK_API_SECRET in the env file');
  }
  if (await portAnswers('127.0.0.1', lk.port)) {
    throw new DevConfigError(`port ${lk.port} of LIVEKIT_URL is taken by something that does not speak HTTP; free it or change LIVEKIT_URL`);
  }
  if (!(await tcpPortFree('127.0.0.1', lk.tcpPort))) {
    throw new DevConfigError(`ICE/TCP port ${lk.tcpPort} is in use; set DEV_LIVEKIT_TCP_PORT to a free port`);
  }
  if (!(await udpPortFree('127.0.0.1', lk.udpPort))) {
    throw new DevConfigError(`UDP port ${lk.udpPort} is in use; set DEV_LIVEKIT_UDP_PORT to a free port`);
  }
  const server = await startLiveKitServer({
    port: lk.port,
    tcpPort: lk.tcpPort,
    udpPort: lk.udpPort,
    apiKey: lk.apiKey,
    apiSecret: lk.apiSecret,
    // Signed with LIVEKIT_API_KEY's secret: the very key the functions verify webhooks with.
    webhookUrls: [webhookUrl],
    logLevel: 'info',
    onLog: (line) => process.stdout.write(`[livekit] ${line}\n`),
  });
  return {
    server,
    description: `${server.url} (livekit-server started here; ICE tcp ${server.ports.tcp}, udp ${server.ports.udp}; webhooks → ${webhookUrl})`,
  };
}
